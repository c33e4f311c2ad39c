"""``pointwise(cat_k depthwise_k(x_k))``, optionally after a ReLU or a BN and a ReLU, storing less for the backward
than torch's ops do (:class:`DepthwisesPointwise`): the depthwise convs of a wave's stage and their grouped
pointwise conv, or of one :class:`~mmdarts.models.ops.DilConv` (six per edge of the DARTS search space).

The pointwise conv's weight gradient needs the depthwise output h; storing it costs one activation per conv pair.
The function stores only the input and recomputes h in the backward, only when the pointwise weight gradient is
asked for (the α-only passes never recompute it); twice differentiable. With a ReLU before it (it stores the ReLU's
output), or a BN and a ReLU (the middle of a separable conv: it stores only the BN's output), differentiable once,
so passes that need a double backward run inside :func:`twice_differentiable`, where they run as their own ops.
Same values and gradients as torch's ops, under autocast too: a Function's backward runs outside autocast, so the
wrapper hands it inputs and weights already cast as autocast would cast a conv's (:func:`autocast_like`); the casts'
own backward returns each weight's gradient in the weight's dtype.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .conv_geometry import WaveGeometry, stride_one_input_gradient, subsampled
from .gradients import sum_of_all
from .modes import autocast_like, is_twice_differentiable, memory_layout


def _depthwise_gradients(grad: torch.Tensor, source: torch.Tensor, weight: torch.Tensor, geometry: WaveGeometry,
                         need_x: bool, need_weight: bool, flipped: bool
                         ) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """∇source and ∇weight of a depthwise conv of ``source`` (already subsampled) for ``grad`` at its output, each
    only where asked; ∇source as the flipped-kernel conv (:func:`stride_one_input_gradient`) where ``flipped`` and
    that applies, else by torch's backward, which computes both in one call."""
    _, stride, padding, dilation = geometry
    groups = weight.shape[0]  # one channel in per output channel
    grad_source = stride_one_input_gradient(grad, weight, geometry, groups) if need_x and flipped else None
    native_x = need_x and grad_source is None
    grad_weight = None
    if native_x or need_weight:
        native_source, grad_weight, _ = torch.ops.aten.convolution_backward(
            grad, source, weight, None, stride, padding, dilation, False, [0, 0], groups,
            [native_x, need_weight, False])
        grad_source = native_source if native_x else grad_source
    return grad_source, grad_weight


def _unsubsampled(grad: Optional[torch.Tensor], x: torch.Tensor, step: Optional[Tuple[int, int]]
                  ) -> Optional[torch.Tensor]:
    """The gradient of ``x`` from ``grad``, that of its subsampled view ``x[..., ::step, ::step]`` (zero
    elsewhere); ``grad`` itself without a step."""
    if grad is None or step is None:
        return grad
    full = torch.zeros_like(x)
    full[:, :, ::step[0], ::step[1]] = grad
    return full


def _normalised(z: torch.Tensor, norm: tuple) -> Tuple[torch.Tensor, torch.Tensor]:
    """y = an affine-free training BN of ``z`` with ``norm`` = (running mean, running var, momentum, eps), its
    running statistics updated where given, and its 1/std."""
    y, _, invstd = torch.native_batch_norm(z, None, None, norm[0], norm[1], True, norm[2], norm[3])
    return y, invstd


def _normalised_backward(grad_r: torch.Tensor, y: torch.Tensor, invstd: torch.Tensor, eps: float) -> torch.Tensor:
    """∇z of relu(y), y = an affine-free training BN of z, for ``grad_r`` at relu(y), from y alone: ReLU's mask
    is y > 0, and BN's backward at its normalised output is the one with input y, mean 0, 1/std 1 and the true
    1/std as the scale."""
    grad_y = torch.ops.aten.threshold_backward(grad_r, y, 0)
    ones = torch.ones_like(invstd)
    return torch.ops.aten.native_batch_norm_backward(grad_y, y, invstd, None, None, torch.zeros_like(ones), ones, True,
                                                     eps, [True, False, False])[0]


def _pieces(x: torch.Tensor, count: int, widths: Optional[Sequence[int]]) -> List[torch.Tensor]:
    """The input of each depthwise conv: ``x`` itself, or its consecutive slices of ``widths`` channels."""
    return list(x.split(list(widths), 1)) if widths is not None else [x] * count


def _wave_depthwise(pieces: Sequence[torch.Tensor], weights: Sequence[torch.Tensor], geometries: Sequence[WaveGeometry]
                    ) -> torch.Tensor:
    """The depthwise convs of ``pieces`` (``weights``, ``geometries``), concatenated."""
    d = [F.conv2d(subsampled(p, g[0]), w, None, *g[1:], w.shape[0]) for p, w, g in zip(pieces, weights, geometries)]
    return torch.cat(d, 1) if len(d) > 1 else d[0]


class DepthwisesPointwise(torch.autograd.Function):
    """``pointwise(cat_k depthwise_k(x_k))`` with ``x_k`` = x (``widths`` None) or its k-th slice of ``widths[k]``
    channels; the pointwise conv grouped in ``groups``; x first through a ReLU where ``relu``, or through an
    affine-free training BN and a ReLU where ``norm`` = (running mean, running var, momentum, eps) is given.
    Stores x (its ReLU, or the BN's output) and the weights, nothing else. With ``relu`` or ``norm``: once
    differentiable only (inside :func:`~.modes.twice_differentiable` they run outside)."""

    @staticmethod
    def forward(ctx, x, *args):
        *weights, geometries, widths, groups, relu, norm = args
        depthwise, pointwise = weights[:-1], weights[-1]
        ctx.invstd = ctx.eps = None
        saved = x
        if norm is not None:
            saved, ctx.invstd = _normalised(x, norm)
            ctx.eps = norm[3]
            x = torch.relu(saved)
        elif relu:
            x = saved = torch.relu(x)
        d = _wave_depthwise(_pieces(x, len(depthwise), widths), depthwise, geometries)
        ctx.save_for_backward(saved, *weights)
        ctx.geometries, ctx.widths, ctx.groups, ctx.relu = geometries, widths, groups, relu
        ctx.sizes = [w.shape[0] for w in depthwise]  # the depthwise convs' output channels
        return F.conv2d(d, pointwise, None, 1, 0, 1, groups)

    @staticmethod
    def backward(ctx, grad):
        if (ctx.invstd is not None or ctx.relu) and torch.is_grad_enabled():  # its backward reads a stored ReLU(x)
            raise RuntimeError('DepthwisesPointwise with a ReLU (or a BN) before it is differentiable once; run '
                               'passes that need a double backward inside '
                               'mmdarts.models.functional.modes.twice_differentiable()')
        x, *weights = ctx.saved_tensors
        y, x = x, (torch.relu(x) if ctx.invstd is not None else x)  # with norm: the BN's output, its ReLU
        depthwise, pointwise = weights[:-1], weights[-1]
        need_x, need = ctx.needs_input_grad[0], ctx.needs_input_grad[1:len(weights) + 1]
        pieces = _pieces(x, len(depthwise), ctx.widths)
        grad_pointwise = None
        if need[-1]:  # the recomputation, for the pointwise weight's gradient only
            d = _wave_depthwise(pieces, depthwise, ctx.geometries)
            grad_d, grad_pointwise, _ = torch.ops.aten.convolution_backward(
                grad, d, pointwise, None, [1, 1], [0, 0], [1, 1], False, [0, 0], ctx.groups,
                [need_x or any(need[:-1]), True, False])
        else:  # the input gradient of a 1x1 conv: the transposed conv, no input needed
            grad_d = torch.ops.aten.convolution(grad, pointwise, None, [1, 1], [0, 0], [1, 1], True, [0, 0],
                                                ctx.groups)
        grads_x, grads_depthwise = [], []
        flipped = memory_layout(x) == torch.channels_last  # the CPU's layout: its input gradients as convs
        for g, p, w, geometry, need_w in zip(grad_d.split(ctx.sizes, 1), pieces, depthwise, ctx.geometries, need[:-1]):
            gx, gw = _depthwise_gradients(g, subsampled(p, geometry[0]), w, geometry, need_x, need_w, flipped)
            grads_x.append(_unsubsampled(gx, p, geometry[0]))
            grads_depthwise.append(gw)
        grad_x = None
        if need_x:
            # the slices' gradients side by side, or one sum of all, not an add per conv
            grad_x = torch.cat(grads_x, 1) if ctx.widths is not None else sum_of_all(grads_x)
            if ctx.invstd is not None:
                grad_x = _normalised_backward(grad_x, y, ctx.invstd, ctx.eps)
            elif ctx.relu:
                grad_x = torch.ops.aten.threshold_backward(grad_x, x, 0)
        return (grad_x, *grads_depthwise, grad_pointwise, None, None, None, None, None)


def depthwises_pointwise(x: torch.Tensor, depthwise: Sequence[torch.Tensor], pointwise: torch.Tensor,
                         geometries: Sequence[WaveGeometry], widths: Optional[Sequence[int]], groups: int,
                         relu: bool = False, norm: Optional[tuple] = None) -> torch.Tensor:
    """:class:`DepthwisesPointwise` under autocast too (inputs cast as a conv's would be, as
    :func:`~.modes.autocast_like` does). ``relu``: ReLU(x) first; ``norm``: (running mean, running var, momentum,
    eps) of an affine-free training BN before that ReLU (inside :func:`~.modes.twice_differentiable`, both as
    their own ops)."""
    if is_twice_differentiable() and (relu or norm is not None):
        if norm is not None:
            x = _normalised(x, norm)[0]
        x, relu, norm = torch.relu(x), False, None
    return autocast_like(DepthwisesPointwise.apply, (x, *depthwise, pointwise), geometries, widths, groups, relu,
                         norm)
