"""Identities and a ReLU whose backward costs fewer operator calls, or hands on a dense gradient; each twice
differentiable."""
from typing import Sequence

import torch

from .modes import memory_layout


class Concat(torch.autograd.Function):
    """``torch.cat`` whose backward is one ``split`` call (torch's cat backward slices once per input); twice
    differentiable."""

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim, ctx.sizes = dim, [t.shape[dim] for t in tensors]
        return torch.cat(tensors, dim)

    @staticmethod
    def backward(ctx, grad):
        return (None, ) + tuple(grad.split(ctx.sizes, ctx.dim))


def concat(tensors: Sequence[torch.Tensor], dim: int = 0) -> torch.Tensor:
    return Concat.apply(dim, *tensors) if len(tensors) > 1 else tensors[0]


class InputSavingReLU(torch.autograd.Function):
    """ReLU whose backward reads its input instead of its output (the same mask): torch's ReLU saves its output,
    which costs a ``detach`` call; the input here is a state or a BN output, kept anyway. Twice differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return torch.ops.aten.threshold_backward(grad, x, 0)


class DenseGradient(torch.autograd.Function):
    """The identity, whose backward hands on its gradient dense in the forward input's memory layout (a copy only
    where it was not). Twice differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.layout = memory_layout(x)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous(memory_format=ctx.layout)


def dense_gradient(x: torch.Tensor) -> torch.Tensor:
    """``x``, with its gradient made dense on the way back (see :class:`DenseGradient`); x itself where no
    gradient flows."""
    return DenseGradient.apply(x) if x.requires_grad and torch.is_grad_enabled() else x


def accumulated(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The sum of ``tensors`` (at least one, of one shape) added into one new tensor, in place after the first add:
    a chain of adds allocates an intermediate sum per tensor, short-lived buffers that fragment the CPU's heap among
    the pass's stored activations (docs/benchmarks.md). Twice differentiable (an in-place add saves nothing)."""
    if len(tensors) == 1:
        return tensors[0]
    total = tensors[0] + tensors[1]
    for t in tensors[2:]:
        if torch.promote_types(total.dtype, t.dtype) == total.dtype:
            total += t
        else:  # a wider dtype (autocast): promoted as an add would
            total = total + t
    return total


def sum_of_all(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The sum of ``tensors`` (at least one, of one shape): one stack and one sum for more than two, not an add
    per tensor (and, on the way back, one gradient expanded, not one per add)."""
    if len(tensors) > 2:
        return torch.stack(list(tensors)).sum(0)
    return sum(tensors[1:], tensors[0])
