"""A wave's depthwise convs and their grouped pointwise conv as one function that stores only its input.

The pointwise conv's weight gradient needs the depthwise outputs, ``K·E·C`` channels a stage (every candidate of
every edge); storing them was a quarter of a batched pass's memory. :class:`DepthwisesPointwise` stores the input
and the weights, and recomputes the depthwise outputs in the backward only when the pointwise weight's gradient is
asked for (the α-only passes never do), as :class:`~mmdarts.models.ops.DepthwisePointwise` does for one edge.
Twice differentiable: the backward is made of differentiable ops.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from ..ops.recomputed_conv import autocast_like

# (stride, padding, dilation) of each depthwise conv
Geometries = Sequence[Tuple[Tuple[int, int], Tuple[int, int], Tuple[int, int]]]


def _pieces(x: torch.Tensor, count: int, width: Optional[int]) -> List[torch.Tensor]:
    """The input of each depthwise conv: ``x`` itself, or its ``width``-channel slices."""
    return list(x.split(width, 1)) if width is not None else [x] * count


def _depthwise(pieces: Sequence[torch.Tensor], weights: Sequence[torch.Tensor], geometries: Geometries
               ) -> List[torch.Tensor]:
    return [F.conv2d(p, w, None, *g, w.shape[0]) for p, w, g in zip(pieces, weights, geometries)]


class DepthwisesPointwise(torch.autograd.Function):
    """``pointwise(cat_k depthwise_k(x_k))`` with ``x_k`` = x (``width`` None) or its k-th ``width`` channels;
    the pointwise conv grouped in ``groups``. Stores x and the weights, nothing else."""

    @staticmethod
    def forward(ctx, x, *args):
        *weights, geometries, width, groups = args
        depthwise, pointwise = weights[:-1], weights[-1]
        d = _depthwise(_pieces(x, len(depthwise), width), depthwise, geometries)
        ctx.save_for_backward(x, *weights)
        ctx.geometries, ctx.width, ctx.groups = geometries, width, groups
        ctx.sizes = [t.shape[1] for t in d]
        d = torch.cat(d, 1) if len(d) > 1 else d[0]
        return F.conv2d(d, pointwise, None, 1, 0, 1, groups)

    @staticmethod
    def backward(ctx, grad):
        x, *weights = ctx.saved_tensors
        depthwise, pointwise = weights[:-1], weights[-1]
        need_x, need = ctx.needs_input_grad[0], ctx.needs_input_grad[1:len(weights) + 1]
        pieces = _pieces(x, len(depthwise), ctx.width)
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
            grad_x = torch.cat(grads_x, 1) if ctx.width is not None else sum(grads_x[1:], grads_x[0])
        return (grad_x, *grads_depthwise, grad_pointwise, None, None, None)


def depthwises_pointwise(x: torch.Tensor, depthwise: Sequence[torch.Tensor], pointwise: torch.Tensor,
                         geometries: Geometries, width: Optional[int], groups: int) -> torch.Tensor:
    """:class:`DepthwisesPointwise` under autocast too (inputs cast as a conv's would be, as
    :func:`~mmdarts.models.ops.recomputed_conv.autocast_like` does)."""
    return autocast_like(DepthwisesPointwise.apply, (x, *depthwise, pointwise), geometries, width, groups)
