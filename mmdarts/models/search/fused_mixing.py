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
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..functional.pool_batch_norm import RecomputedPoolBatchNorm
from ..ops import PLAIN_BATCH_NORMS, DilConv, FactorizedReduce, SepConv, batch_norm_momentum


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


def pool_recomputable(bn: nn.BatchNorm2d, x: torch.Tensor, scale: torch.Tensor) -> bool:
    """Whether ``scale * bn(pool(x))`` runs as :func:`recomputed_pool_batch_norm`: ``bn`` training and a gradient
    wanted, outside tracing (tracers see torch's ops)."""
    return (bn.training and torch.is_grad_enabled() and not torch.jit.is_tracing()
            and (x.requires_grad or scale.requires_grad))


def scaled_batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``scale * bn(x)`` for an affine-free ``bn``, as one batch norm whose affine scale is ``scale``: the same
    statistics, running-statistics update and output as ``nn.BatchNorm2d.forward`` followed by the product."""
    momentum = batch_norm_momentum(bn)
    use_batch_stats = bn.training or (bn.running_mean is None and bn.running_var is None)
    use_running = not bn.training or bn.track_running_stats
    weight = channel_scale(scale, x.shape[1])
    return F.batch_norm(x, bn.running_mean if use_running else None, bn.running_var if use_running else None,
                        weight, None, use_batch_stats, momentum, bn.eps)


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
    if prefix is not None and pool_recomputable(bn, h, weight):
        return recomputed_pool_batch_norm(prefix, bn, h, weight)
    if bn is not None:
        return scaled_batch_norm(bn, run_parts(op, h, skip_first, True), weight)
    return scaled(weight, run_parts(op, h, True, False) if skip_first else op(h))


def split_activation(op: nn.Module) -> Tuple[Optional[str], Optional[nn.Module]]:
    key = shareable_activation(op)
    return key, (first_leaf(op) if key is not None else None)
