"""A wave's depthwise convs and their grouped pointwise conv as one function that stores only its input.

Depthwise convs that read different channels and differ only in kernel size (a separable 3x3 and 5x5 conv's second
stage) run as one conv: the smaller kernels zero-padded to the largest (:func:`depthwise_runs`,
:func:`pad_kernel`), which gives the same numbers (the same taps, the padding grown by as much).

The pointwise conv's weight gradient needs the depthwise outputs, ``K·E·C`` channels a stage (every candidate of
every edge); storing them was a quarter of a batched pass's memory. :class:`DepthwisesPointwise` stores the input
and the weights, and recomputes the depthwise outputs in the backward only when the pointwise weight's gradient is
asked for (the α-only passes never do), as :class:`~mmdarts.models.ops.DepthwisePointwise` does for one edge.
Twice differentiable: the backward is made of differentiable ops.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ops.recomputed_conv import autocast_like, is_twice_differentiable

# (stride, padding, dilation) of each depthwise conv
Geometry = Tuple[Tuple[int, int], Tuple[int, int], Tuple[int, int]]
Geometries = Sequence[Geometry]


def _merge_key(conv: nn.Conv2d) -> tuple:
    """Convs with equal keys compute the same taps around each output pixel once padded to one kernel size."""
    k, p, d = conv.kernel_size, conv.padding, conv.dilation
    return (tuple(conv.stride), tuple(d), tuple(di * (ki - 1) - 2 * pi for ki, pi, di in zip(k, p, d)),
            tuple(ki % 2 for ki in k))


def depthwise_runs(convs: Sequence[nn.Conv2d]) -> List[List[int]]:
    """Indices of ``convs`` (depthwise convs, each over its own channels) grouped into runs of consecutive convs
    that can run as one conv, their kernels zero-padded to the run's largest (:func:`merged_geometry`)."""
    runs: List[List[int]] = []
    for i, conv in enumerate(convs):
        if runs and _merge_key(convs[runs[-1][0]]) == _merge_key(conv):
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def merged_geometry(convs: Sequence[nn.Conv2d]) -> Tuple[Geometry, Tuple[int, int]]:
    """``((stride, padding, dilation), kernel size)`` of the one conv that computes a run of ``convs``."""
    size = tuple(max(c.kernel_size[i] for c in convs) for i in range(2))
    first = convs[0]
    padding = tuple(first.padding[i] + first.dilation[i] * (size[i] - first.kernel_size[i]) // 2 for i in range(2))
    return (tuple(first.stride), padding, tuple(first.dilation)), size


def pad_kernel(weight: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``weight`` (``(..., kh, kw)``) centred in zeros of kernel size ``size``."""
    dh, dw = (size[0] - weight.shape[-2]) // 2, (size[1] - weight.shape[-1]) // 2
    return F.pad(weight, [dw, dw, dh, dh]) if dh or dw else weight


def crop_kernel(weight: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """The centre of kernel size ``size`` of ``weight`` (a view): the inverse of :func:`pad_kernel`."""
    dh, dw = (weight.shape[-2] - size[0]) // 2, (weight.shape[-1] - size[1]) // 2
    return weight.narrow(-2, dh, size[0]).narrow(-1, dw, size[1]) if dh or dw else weight


def kernel_mask(sizes: Sequence[Tuple[int, Sequence[int]]], size: Sequence[int]) -> Optional[torch.Tensor]:
    """``(rows, 1, *size)``: 1 on the taps of each row's own kernel, 0 on the padding, for ``sizes``
    ``[(rows, kernel size)]`` in row order; None where every kernel is ``size`` (nothing padded)."""
    if all(tuple(k) == tuple(size) for _, k in sizes):
        return None
    return torch.cat([pad_kernel(torch.ones(rows, 1, *k), size) for rows, k in sizes])


def _pieces(x: torch.Tensor, count: int, widths: Optional[Sequence[int]]) -> List[torch.Tensor]:
    """The input of each depthwise conv: ``x`` itself, or its consecutive slices of ``widths`` channels."""
    return list(x.split(list(widths), 1)) if widths is not None else [x] * count


def _depthwise(pieces: Sequence[torch.Tensor], weights: Sequence[torch.Tensor], geometries: Geometries
               ) -> List[torch.Tensor]:
    return [F.conv2d(p, w, None, *g, w.shape[0]) for p, w, g in zip(pieces, weights, geometries)]


class DepthwisesPointwise(torch.autograd.Function):
    """``pointwise(cat_k depthwise_k(x_k))`` with ``x_k`` = x (``widths`` None) or its k-th slice of ``widths[k]``
    channels; the pointwise conv grouped in ``groups``; x first through a ReLU where ``relu``. Stores x (or its
    ReLU) and the weights, nothing else. With ``relu`` the ReLU's output is stored as an intermediate: once
    differentiable only (inside :func:`~mmdarts.models.ops.twice_differentiable` the ReLU runs outside)."""

    @staticmethod
    def forward(ctx, x, *args):
        *weights, geometries, widths, groups, relu = args
        depthwise, pointwise = weights[:-1], weights[-1]
        if relu:
            x = torch.relu(x)
        d = _depthwise(_pieces(x, len(depthwise), widths), depthwise, geometries)
        ctx.save_for_backward(x, *weights)
        ctx.geometries, ctx.widths, ctx.groups, ctx.relu = geometries, widths, groups, relu
        ctx.sizes = [t.shape[1] for t in d]
        d = torch.cat(d, 1) if len(d) > 1 else d[0]
        return F.conv2d(d, pointwise, None, 1, 0, 1, groups)

    @staticmethod
    def backward(ctx, grad):
        x, *weights = ctx.saved_tensors
        depthwise, pointwise = weights[:-1], weights[-1]
        need_x, need = ctx.needs_input_grad[0], ctx.needs_input_grad[1:len(weights) + 1]
        pieces = _pieces(x, len(depthwise), ctx.widths)
        grad_pointwise = None
        if need[-1]:  # the recomputation, for the pointwise weight's gradient only
            d = _depthwise(pieces, depthwise, ctx.geometries)
            d = torch.cat(d, 1) if len(d) > 1 else d[0]
            grad_d, grad_pointwise, _ = torch.ops.aten.convolution_backward(
                grad, d, pointwise, None, [1, 1], [0, 0], [1, 1], False, [0, 0], ctx.groups,
                [need_x or any(need[:-1]), True, False])
        else:  # the input gradient of a 1x1 conv: the transposed conv, no input needed
            grad_d = torch.ops.aten.convolution(grad, pointwise, None, [1, 1], [0, 0], [1, 1], True, [0, 0],
                                                ctx.groups)
        grads_x, grads_depthwise = [], []
        for g, p, w, (stride, padding, dilation), need_w in zip(grad_d.split(ctx.sizes, 1), pieces, depthwise,
                                                                 ctx.geometries, need[:-1]):
            gx, gw, _ = torch.ops.aten.convolution_backward(g, p, w, None, stride, padding, dilation, False, [0, 0],
                                                            w.shape[0], [need_x, need_w, False])
            grads_x.append(gx)
            grads_depthwise.append(gw)
        grad_x = None
        if need_x:
            if ctx.widths is not None:
                grad_x = torch.cat(grads_x, 1)
            else:  # one sum of all, not an add per conv
                grad_x = torch.stack(grads_x).sum(0) if len(grads_x) > 2 else sum(grads_x[1:], grads_x[0])
            if ctx.relu:
                grad_x = torch.ops.aten.threshold_backward(grad_x, x, 0)
        return (grad_x, *grads_depthwise, grad_pointwise, None, None, None, None)


def depthwises_pointwise(x: torch.Tensor, depthwise: Sequence[torch.Tensor], pointwise: torch.Tensor,
                         geometries: Geometries, widths: Optional[Sequence[int]], groups: int,
                         relu: bool = False) -> torch.Tensor:
    """:class:`DepthwisesPointwise` under autocast too (inputs cast as a conv's would be, as
    :func:`~mmdarts.models.ops.recomputed_conv.autocast_like` does). ``relu``: ReLU(x) first (inside
    :func:`~mmdarts.models.ops.twice_differentiable`, as its own op)."""
    if relu and is_twice_differentiable():
        x, relu = torch.relu(x), False
    return autocast_like(DepthwisesPointwise.apply, (x, *depthwise, pointwise), geometries, widths, groups, relu)
