from typing import Dict

import torch
import torch.nn as nn

from mmdarts.registry import MODELS


def beta_decay_loss(alphas: Dict[str, torch.Tensor]) -> torch.Tensor:
    """β-DARTS's Beta-Decay regularisation (Ye et al., CVPR 2022, Eq. 11): the mean over every edge of every cell
    type of logsumexp over the ops of α. Its gradient is softmax(α), so it pulls all of an edge's α down together
    and keeps their spread (and so the mixing weights) from running away."""
    return torch.cat([torch.logsumexp(alpha, dim=-1) for alpha in alphas.values()]).mean()


@MODELS.register_module()
class BetaDecay(nn.Module):
    """The Beta-Decay loss term of the α step, weighted λ(epoch) = max_weight · min(epoch / ramp_epochs, 1) with the
    epoch counted from 0, as β-DARTS's code does (λ = 50 · epoch / 100).

    Args:
        max_weight (float): λ at ``ramp_epochs``. Defaults to 50.
        ramp_epochs (int): epochs over which λ rises linearly from 0. Defaults to 100.
    """

    def __init__(self, max_weight: float = 50., ramp_epochs: int = 100):
        super().__init__()
        if max_weight < 0 or ramp_epochs < 1:
            raise ValueError(f'BetaDecay: needs max_weight >= 0 and ramp_epochs >= 1, got {max_weight}, {ramp_epochs}')
        self.max_weight = max_weight
        self.ramp_epochs = ramp_epochs

    def weight(self, epoch: int) -> float:
        return self.max_weight * min(epoch / self.ramp_epochs, 1.)

    def forward(self, alphas: Dict[str, torch.Tensor], epoch: int, supernet: nn.Module = None) -> torch.Tensor:
        return self.weight(epoch) * beta_decay_loss(alphas)
