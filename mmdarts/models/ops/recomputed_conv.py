"""A depthwise conv followed by a pointwise conv that stores only its input for the backward.

The pointwise conv's weight gradient needs the depthwise output h; storing it costs one activation per
:class:`~mmdarts.models.ops.DilConv` (six per edge of the DARTS search space, about 40 % of a search pass's
stored activations). :class:`DepthwisePointwise` recomputes h in the backward instead, and only when the
pointwise weight gradient is asked for (the α-only passes never recompute it). Same values and gradients;
twice differentiable (the backward is made of differentiable ops, so ``hvp='exact'`` can build a graph of it).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn

from .dilated_conv import DilatedConv2d, Geometry


def _strided(x: torch.Tensor, step: Optional[Tuple[int, int]]) -> torch.Tensor:
    return x if step is None else x[:, :, ::step[0], ::step[1]]


def _depthwise(x: torch.Tensor, weight: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    step, stride, padding, dilation, groups = geometry
    return torch.ops.aten.convolution(_strided(x, step), weight, None, stride, padding, dilation, False, [0, 0],
                                      groups)


def _pointwise(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.convolution(h, weight, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)


class DepthwisePointwise(torch.autograd.Function):
    """pointwise(depthwise(x)) that stores x, the two weights and nothing else."""

    @staticmethod
    def forward(ctx, x, depthwise_weight, pointwise_weight, geometry):
        h = _depthwise(x, depthwise_weight, geometry)
        ctx.save_for_backward(x, depthwise_weight, pointwise_weight)
        ctx.geometry = geometry
        ctx.h_shape = h.shape
        ctx.h_format = torch.channels_last if h.is_contiguous(memory_format=torch.channels_last) and not \
            h.is_contiguous() else torch.contiguous_format
        return _pointwise(h, pointwise_weight)

    @staticmethod
    def backward(ctx, grad):
        x, depthwise_weight, pointwise_weight = ctx.saved_tensors
        need_x, need_depthwise, need_pointwise = ctx.needs_input_grad[:3]
        step, stride, padding, dilation, groups = ctx.geometry
        if need_pointwise:
            h = _depthwise(x, depthwise_weight, ctx.geometry)  # the recomputation
        else:  # only its shape and layout are read
            h = torch.empty(ctx.h_shape, dtype=x.dtype, device=x.device, memory_format=ctx.h_format)
        grad_h, grad_pointwise, _ = torch.ops.aten.convolution_backward(
            grad, h, pointwise_weight, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
            [need_x or need_depthwise, need_pointwise, False])
        grad_x = grad_depthwise = None
        if need_x or need_depthwise:
            source = _strided(x, step)
            grad_source, grad_depthwise, _ = torch.ops.aten.convolution_backward(
                grad_h, source, depthwise_weight, None, stride, padding, dilation, False, [0, 0], groups,
                [need_x, need_depthwise, False])
            if need_x and step is not None:
                grad_x = torch.zeros_like(x)
                grad_x[:, :, ::step[0], ::step[1]] = grad_source
            else:
                grad_x = grad_source
        return grad_x, grad_depthwise, grad_pointwise, None


def depthwise_pointwise(x: torch.Tensor, depthwise: DilatedConv2d, pointwise: nn.Conv2d) -> torch.Tensor:
    """``pointwise(depthwise(x))`` for bias-free convs, the pointwise one 1x1 with stride 1, storing only x for
    the backward (through :class:`DepthwisePointwise`) when a gradient is needed."""
    geometry = depthwise.computed_geometry(x)
    wanted = torch.is_grad_enabled() and not torch.jit.is_tracing() and (  # traced: counters see the aten convs
        x.requires_grad or depthwise.weight.requires_grad or pointwise.weight.requires_grad)
    plain = (geometry is None or depthwise.bias is not None or pointwise.bias is not None
             or pointwise.kernel_size != (1, 1) or pointwise.stride != (1, 1) or pointwise.padding != (0, 0)
             or pointwise.dilation != (1, 1) or pointwise.groups != 1 or pointwise.padding_mode != 'zeros')
    if plain or not wanted:
        return pointwise(depthwise(x))
    return DepthwisePointwise.apply(x, depthwise.weight, pointwise.weight, geometry)
