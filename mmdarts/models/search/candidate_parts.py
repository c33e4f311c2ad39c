"""What the waves read of a candidate op's structure (candidates are sequences: ``nn.Sequential``, nested, or
:class:`FactorizedReduce`), and the pools' fast form.

- A leading parameter-free activation (:func:`shareable_activation`) is the same for every candidate and edge that
  reads a state: the waves compute it once per state.
- A final affine-free BN (:func:`foldable_batch_norm`), weighted by w, is w·BN(x) = BN with an affine scale of w:
  folding w into it saves a multiplication and the stored copy of BN's output that the multiplication needs for
  its backward.
- A pool followed by that BN (:func:`recomputable_prefix`) needs to keep only its input for the backward (the cell
  state, kept anyway): the pool's output and a max pool's int64 indices are recomputed in the backward
  (:func:`recomputed_pool_batch_norm`), a fifth of a search pass's stored activations.
"""
from typing import Optional

import torch
import torch.nn as nn

from ..functional.pool_batch_norm import RecomputedPoolBatchNorm
from ..ops import PLAIN_BATCH_NORMS, FactorizedReduce, norm_arguments


def leaf(module: nn.Module, last: bool = False) -> nn.Module:
    """The first (or ``last``) module a candidate runs."""
    while isinstance(module, FactorizedReduce) or (isinstance(module, nn.Sequential) and len(module)):
        if isinstance(module, FactorizedReduce):
            return module.bn if last else module.act
        module = module[-1 if last else 0]
    return module


def shareable_activation(op: nn.Module) -> Optional[str]:
    """A key naming the op's leading activation if it is parameter-free (so any op's copy computes the same)."""
    first = leaf(op)
    if first is op or type(first).__module__ != 'torch.nn.modules.activation' or any(True for _ in first.parameters()):
        return None
    return repr(first)


def foldable_batch_norm(op: nn.Module) -> Optional[nn.BatchNorm2d]:
    """The op's final BN if the mixing weight can be folded into it (a plain, affine-free BatchNorm2d)."""
    bn = leaf(op, last=True)
    return bn if bn is not op and type(bn) in PLAIN_BATCH_NORMS and not bn.affine else None


def recomputed_pool_batch_norm(pool: nn.Module, bn: nn.BatchNorm2d, x: torch.Tensor, scale: torch.Tensor
                               ) -> torch.Tensor:
    """``scale * bn(pool(x))`` for a training-mode, affine-free ``bn`` and ``scale`` a contiguous vector of one
    value per channel, storing only x for the backward."""
    return RecomputedPoolBatchNorm.apply(x, scale, pool, *norm_arguments(bn))


def recomputable_prefix(op: nn.Module) -> Optional[nn.Module]:
    """The pool of a pool-then-BN candidate (the part before its final BN, recomputed in the backward), else None."""
    if not (isinstance(op, nn.Sequential) and len(op) == 2):
        return None
    return op[0] if isinstance(op[0], (nn.MaxPool2d, nn.AvgPool2d)) else None
