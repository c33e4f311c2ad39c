from typing import Dict

import torch
import torch.nn as nn

from mmdarts.registry import MODELS


@MODELS.register_module()
class ZeroOneLoss(nn.Module):
    """Fair DARTS's zero-one loss (Chu et al., ECCV 2020, Eq. 6): ``weight`` · −mean((σ(α) − ½)²) over every α,
    pushing each sigmoid weight away from ½ towards 0 or 1 so that the threshold rule has clear choices.

    Args:
        weight (float): w_{0-1}. Defaults to 10 (the paper).
    """

    def __init__(self, weight: float = 10.):
        super().__init__()
        if weight < 0:
            raise ValueError(f'ZeroOneLoss: weight must be >= 0, got {weight}')
        self.weight = weight

    def forward(self, alphas: Dict[str, torch.Tensor], epoch: int, supernet: nn.Module = None) -> torch.Tensor:
        sig = torch.cat([torch.sigmoid(alpha).flatten() for alpha in alphas.values()])
        return -self.weight * (sig - 0.5).pow(2).mean()
