from typing import Dict, Optional

import torch
import torch.nn as nn

from mmdarts.registry import MODELS


def size_aware_decay_loss(alphas: Dict[str, torch.Tensor], coefficients: Dict[str, torch.Tensor]) -> torch.Tensor:
    """½ Σ λ ⊙ α² over every cell type, edge and op: an L2 decay whose strength λ differs per op."""
    return sum(0.5 * (coefficients[k].to(a) * a.pow(2)).sum() for k, a in alphas.items())


def op_size_coefficients(supernet: nn.Module, base: float) -> Dict[str, torch.Tensor]:
    """λ[e, o] = base + params(o on edge e) / max over the edge's ops, read off the first cell of each type."""
    coefficients = {}
    for cell in supernet.cells:
        kind = 'reduce' if cell.reduction else 'normal'
        if kind not in coefficients:
            # the searched ops only: DARTS-'s auxiliary skip, a last candidate of each mixed op, has no α
            sizes = [torch.tensor([float(s) for s in mixed.sizes[:len(cell.primitives)]]) for mixed in cell.mixed_ops]
            coefficients[kind] = torch.stack([base + s / s.max().clamp_min(1.) for s in sizes])
    return coefficients


@MODELS.register_module()
class SizeAwareDecay(nn.Module):
    """An extra weight decay on each op's α in proportion to the op's parameter count, plus a constant ``base``
    (the size-aware α decay of theorist toolkits such as AutoRA's ``arch_weight_decay_df``): cells with fewer
    parameters are favoured. The loss is ``weight`` · ½ Σ (base + params/max params) · α².

    Args:
        weight (float): overall strength. Defaults to 1e-3.
        base (float): the part of the decay every op gets. Defaults to 1.0.
    """

    def __init__(self, weight: float = 1e-3, base: float = 1.0):
        super().__init__()
        if weight < 0 or base < 0:
            raise ValueError(f'SizeAwareDecay: weight and base must be >= 0, got {weight}, {base}')
        self.weight = weight
        self.base = base
        self._coefficients: Optional[Dict[str, torch.Tensor]] = None

    def forward(self, alphas: Dict[str, torch.Tensor], epoch: int, supernet: nn.Module = None) -> torch.Tensor:
        if self._coefficients is None:
            if supernet is None:
                raise ValueError('SizeAwareDecay needs the supernet to count the ops\' parameters')
            self._coefficients = op_size_coefficients(supernet, self.base)
        return self.weight * size_aware_decay_loss(alphas, self._coefficients)
