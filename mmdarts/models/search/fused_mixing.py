"""Exact speed-ups of the mixed op (Eq. 2): shared leading activations and the mixing weight folded into BN.

Candidate ops are sequences (``nn.Sequential``, nested, or :class:`FactorizedReduce`). Two facts make the mix
cheaper without changing a number it computes:
- the conv candidates of an edge all start with the same parameter-free activation of the same input, which can be
  computed once (and shared by every edge that reads that state);
- a candidate ending in an affine-free BN, weighted by w, is w·BN(x) = BN with a scale of w: folding w into the
  BN's affine scale saves a multiplication and the stored copy of BN's output that the multiplication needs for
  its backward;
- a candidate that is a parameter-free op (the pools) followed by that BN needs to keep only its input for the
  backward (the cell state, kept anyway): the pool's output and a max pool's int64 indices are recomputed in the
  backward instead of stored, a fifth of a search pass's stored activations.

And one fact of torch on CPU: an edge's output gradient can arrive as a strided slice (``torch.cat``'s backward
for the cell's last node), and BN's CPU backward runs 8-12x slower on that than on a dense tensor; each folded BN
of the edge would pay it, so :func:`dense_gradient` makes it dense once per edge.
"""
from typing import Callable, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

from ..ops import PLAIN_BATCH_NORMS, DilConv, FactorizedReduce, SepConv, batch_norm_momentum, memory_layout


def first_leaf(module: nn.Module) -> nn.Module:
    while True:
        if isinstance(module, FactorizedReduce):
            return module.act
        if isinstance(module, nn.Sequential) and len(module):
            module = module[0]
        else:
            return module


def last_leaf(module: nn.Module) -> nn.Module:
    while True:
        if isinstance(module, FactorizedReduce):
            return module.bn
        if isinstance(module, nn.Sequential) and len(module):
            module = module[-1]
        else:
            return module


def shareable_activation(op: nn.Module) -> Optional[str]:
    """A key naming the op's leading activation if it is parameter-free (so any op's copy computes the same)."""
    leaf = first_leaf(op)
    if leaf is op or type(leaf).__module__ != 'torch.nn.modules.activation' or any(True for _ in leaf.parameters()):
        return None
    return repr(leaf)


def foldable_batch_norm(op: nn.Module) -> Optional[nn.BatchNorm2d]:
    """The op's final BN if the mixing weight can be folded into it (a plain, affine-free BatchNorm2d)."""
    leaf = last_leaf(op)
    return leaf if leaf is not op and type(leaf) in PLAIN_BATCH_NORMS and not leaf.affine else None


def run_parts(module: nn.Module, x: torch.Tensor, skip_first: bool, skip_last: bool) -> torch.Tensor:
    """Runs ``module`` on ``x`` leaving out its first leaf (``x`` is already activated) and/or its last leaf."""
    if isinstance(module, (FactorizedReduce, DilConv, SepConv)):
        return module.forward_parts(x, skip_first, skip_last)
    if isinstance(module, nn.Sequential):
        last = len(module) - 1
        for i, child in enumerate(module):
            x = run_parts(child, x, skip_first and i == 0, skip_last and i == last)
        return x
    return x if skip_first or skip_last else module(x)


def channel_scale(scale: torch.Tensor, channels: int) -> torch.Tensor:
    """A mixing weight as a contiguous vector of one value per channel, BN's affine scale: ``scale`` itself when
    it is one already (:class:`~mmdarts.models.search.SearchCell` makes all of a cell's at once, in three calls
    instead of two per candidate), else the 0-dim weight expanded."""
    if scale.dim() == 1:
        return scale
    # A contiguous vector: torch 2.13's CPU batch-norm backward on channels-last inputs reads an expanded
    # (stride-0) weight out of bounds and returns garbage input gradients (tests/.../test_fused_mixing.py).
    return scale.expand(channels).contiguous()


def scaled(scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``scale * x`` for a 0-dim weight or a per-channel vector of equal values (:func:`channel_scale`)."""
    return (scale.view(-1, 1, 1) if scale.dim() == 1 else scale) * x


def recomputed_pool_batch_norm(pool: nn.Module, bn: nn.BatchNorm2d, x: torch.Tensor, scale: torch.Tensor
                               ) -> torch.Tensor:
    """``scale * bn(pool(x))`` for a training-mode, affine-free ``bn``, storing only x for the backward."""
    momentum = batch_norm_momentum(bn)
    tracked = bn.track_running_stats
    weight = channel_scale(scale, x.shape[1])
    return RecomputedPoolBatchNorm.apply(x, weight, pool, bn.running_mean if tracked else None,
                                         bn.running_var if tracked else None, momentum, bn.eps)


def scaled_batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``scale * bn(x)`` for an affine-free ``bn``, as one batch norm whose affine scale is ``scale``: the same
    statistics, running-statistics update and output as ``nn.BatchNorm2d.forward`` followed by the product."""
    momentum = batch_norm_momentum(bn)
    use_batch_stats = bn.training or (bn.running_mean is None and bn.running_var is None)
    use_running = not bn.training or bn.track_running_stats
    weight = channel_scale(scale, x.shape[1])
    return F.batch_norm(x, bn.running_mean if use_running else None, bn.running_var if use_running else None,
                        weight, None, use_batch_stats, momentum, bn.eps)


def pool_and_backward(pool: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """``pool(x)`` and the function giving ∇x from ∇pool(x), through torch's own pool kernels (differentiable
    ops, so a graph of the backward can be built)."""
    kernel, stride, padding = _pair(pool.kernel_size), _pair(pool.stride), _pair(pool.padding)
    if isinstance(pool, nn.MaxPool2d):
        dilation, ceil = _pair(pool.dilation), pool.ceil_mode
        out, indices = torch.ops.aten.max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil)
        return out, lambda grad: torch.ops.aten.max_pool2d_with_indices_backward(grad, x, kernel, stride, padding,
                                                                                 dilation, ceil, indices)
    args = (pool.ceil_mode, pool.count_include_pad, pool.divisor_override)
    out = torch.ops.aten.avg_pool2d(x, kernel, stride, padding, *args)
    return out, lambda grad: torch.ops.aten.avg_pool2d_backward(grad, x, kernel, stride, padding, *args)


class RecomputedPoolBatchNorm(torch.autograd.Function):
    """``scale * bn(pool(x))`` in training mode that stores x, not pool(x) (nor max-pool indices): the backward
    recomputes pool(x). Same statistics, running-statistics update and gradients; twice differentiable (the
    backward is made of differentiable ops, so ``hvp='exact'`` can build a graph of it)."""

    @staticmethod
    def forward(ctx, x, scale, pool, running_mean, running_var, momentum, eps):
        pooled, _ = pool_and_backward(pool, x)
        out, mean, invstd = torch.native_batch_norm(pooled, scale, None, running_mean, running_var, True, momentum,
                                                    eps)
        ctx.save_for_backward(x, scale)
        ctx.pool, ctx.eps, ctx.mean, ctx.invstd = pool, eps, mean, invstd
        return out

    @staticmethod
    def backward(ctx, grad):
        x, scale = ctx.saved_tensors
        pooled, pool_backward = pool_and_backward(ctx.pool, x)
        grad_pooled, grad_scale, _ = torch.ops.aten.native_batch_norm_backward(
            grad, pooled, scale, None, None, ctx.mean, ctx.invstd, True, ctx.eps,
            [True, ctx.needs_input_grad[1], False])
        grad_x = pool_backward(grad_pooled) if ctx.needs_input_grad[0] else None
        return grad_x, grad_scale, None, None, None, None, None


def recomputable_prefix(op: nn.Module) -> Optional[nn.Module]:
    """The pool of a pool-then-BN candidate (the part before its final BN, recomputed in the backward), else None."""
    if not (isinstance(op, nn.Sequential) and len(op) == 2):
        return None
    return op[0] if isinstance(op[0], (nn.MaxPool2d, nn.AvgPool2d)) else None


def fused_candidate(op: nn.Module, x: torch.Tensor, weight: torch.Tensor, activated: Optional[torch.Tensor]
                    ) -> torch.Tensor:
    """``weight * op(x)``, given ``activated`` = op's leading activation of x when it is shared (else None);
    ``weight`` is 0-dim or a per-channel vector of equal values (:func:`channel_scale`)."""
    skip_first = activated is not None
    h = activated if skip_first else x
    bn = foldable_batch_norm(op)
    prefix = recomputable_prefix(op) if bn is not None and not skip_first else None
    if prefix is not None and bn.training and torch.is_grad_enabled() and not torch.jit.is_tracing() and (
            h.requires_grad or weight.requires_grad):
        return recomputed_pool_batch_norm(prefix, bn, h, weight)
    if bn is not None:
        return scaled_batch_norm(bn, run_parts(op, h, skip_first, True), weight)
    return scaled(weight, run_parts(op, h, True, False) if skip_first else op(h))


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


def split_activation(op: nn.Module) -> Tuple[Optional[str], Optional[nn.Module]]:
    key = shareable_activation(op)
    return key, (first_leaf(op) if key is not None else None)
