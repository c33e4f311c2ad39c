"""Exact speed-ups of the mixed op (Eq. 2): shared leading activations and the mixing weight folded into BN.

Candidate ops are sequences (``nn.Sequential``, nested, or :class:`FactorizedReduce`). Two facts make the mix
cheaper without changing a number it computes:
- the conv candidates of an edge all start with the same parameter-free activation of the same input, which can be
  computed once (and shared by every edge that reads that state);
- a candidate ending in an affine-free BN, weighted by w, is w·BN(x) = BN with a scale of w: folding w into the
  BN's affine scale saves a multiplication and the stored copy of BN's output that the multiplication needs for
  its backward.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ops import FactorizedReduce


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
    return leaf if leaf is not op and type(leaf) is nn.BatchNorm2d and not leaf.affine else None


def run_parts(module: nn.Module, x: torch.Tensor, skip_first: bool, skip_last: bool) -> torch.Tensor:
    """Runs ``module`` on ``x`` leaving out its first leaf (``x`` is already activated) and/or its last leaf."""
    if isinstance(module, FactorizedReduce):
        return module.forward_parts(x, skip_first, skip_last)
    if isinstance(module, nn.Sequential):
        last = len(module) - 1
        for i, child in enumerate(module):
            x = run_parts(child, x, skip_first and i == 0, skip_last and i == last)
        return x
    return x if skip_first or skip_last else module(x)


def scaled_batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``scale * bn(x)`` for an affine-free ``bn``, as one batch norm whose affine scale is ``scale``: the same
    statistics, running-statistics update and output as ``nn.BatchNorm2d.forward`` followed by the product."""
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        momentum = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    use_batch_stats = bn.training or (bn.running_mean is None and bn.running_var is None)
    use_running = not bn.training or bn.track_running_stats
    # A contiguous scale vector: torch 2.13's CPU batch-norm backward on channels-last inputs reads an expanded
    # (stride-0) weight out of bounds and returns garbage input gradients (tests/.../test_fused_mixing.py).
    weight = scale.expand(x.shape[1]).contiguous()
    return F.batch_norm(x, bn.running_mean if use_running else None, bn.running_var if use_running else None,
                        weight, None, use_batch_stats, momentum, bn.eps)


def fused_candidate(op: nn.Module, x: torch.Tensor, weight: torch.Tensor, activated: Optional[torch.Tensor]
                    ) -> torch.Tensor:
    """``weight * op(x)``, given ``activated`` = op's leading activation of x when it is shared (else None)."""
    skip_first = activated is not None
    h = activated if skip_first else x
    bn = foldable_batch_norm(op)
    if bn is not None:
        return scaled_batch_norm(bn, run_parts(op, h, skip_first, True), weight)
    return weight * (run_parts(op, h, True, False) if skip_first else op(h))


def split_activation(op: nn.Module) -> Tuple[Optional[str], Optional[nn.Module]]:
    key = shareable_activation(op)
    return key, (first_leaf(op) if key is not None else None)
