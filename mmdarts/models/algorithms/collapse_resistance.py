"""Two ways a search resists DARTS's collapse into skip connections, each a schedule over the search's epochs.

- DARTS- (Chu et al., ICLR 2021): an auxiliary skip β·skip(x) on every mixed op (the supernet's
  ``auxiliary_skip``), β decaying linearly from 1 at the first epoch to 0 at the end of the search
  (:func:`follow_schedules`). The skip takes the gradient path that otherwise favours ``skip_connect``.
- SDARTS-RS (Chen & Hsieh, ICML 2020, random smoothing): the weight step trains the weights under op weights
  softmax(α) + δ, δ uniform in [-ε, ε] drawn afresh at every step, ε rising linearly from 0.03 at the first epoch
  to 0.3 at the end (:func:`randomly_smoothed`); the α step sees softmax(α) unperturbed. The noise is drawn before
  the weight pass, which reads it as an input (a captured pass replays with each step's draw).
"""
from numbers import Real
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.logging import MessageHub


def linear_schedule(start: float, end: float, epoch: int, max_epochs: int) -> float:
    """The value at the start of ``epoch`` (from 0) of a quantity moving linearly from ``start`` at epoch 0 to
    ``end`` at ``max_epochs``, the end of the search (so the last epoch runs at ``end`` less one step)."""
    return start + (end - start) * epoch / max(max_epochs, 1)


def smoothing_noise(alphas: Dict[str, torch.Tensor], epsilon: float) -> Dict[str, torch.Tensor]:
    """SDARTS-RS's δ: for each cell type, noise drawn uniformly in [-ε, ε], one draw per op weight."""
    return {cell: torch.empty_like(alpha).uniform_(-epsilon, epsilon) for cell, alpha in alphas.items()}


def randomly_smoothed(weights: Dict[str, torch.Tensor], noise: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """SDARTS-RS: each cell type's op weights plus its ``noise``; other entries (PC-DARTS's edge weights) as
    they are."""
    return {key: w + noise[key] if key in noise else w for key, w in weights.items()}


def follow_schedules(supernet: torch.nn.Module, random_smoothing: Optional[Tuple[float, float]],
                     epoch: int) -> Optional[float]:
    """Sets the supernet's DARTS- β for ``epoch`` (in place: a captured pass reads it) where it has an auxiliary
    skip; returns SDARTS-RS's ε for ``epoch`` (0 without ``random_smoothing``). Both follow the search's length
    that the runner keeps in the message hub; without it, nothing is set and None returned."""
    max_epochs = MessageHub.get_current_instance().get_info('max_epochs')
    if max_epochs is None:
        return None
    beta = getattr(supernet, 'auxiliary_skip_weight', None)
    if beta is not None:
        beta.fill_(linear_schedule(1., 0., epoch, max_epochs))  # DARTS-'s β: 1 - epoch / max_epochs
    return linear_schedule(*random_smoothing, epoch, max_epochs) if random_smoothing is not None else 0.


def check_random_smoothing(value: Optional[Sequence[float]]) -> Optional[Tuple[float, float]]:
    """``Darts.random_smoothing``: None, or (ε at the first epoch, ε at the end), both >= 0."""
    if value is None:
        return None
    if (isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2
            or not all(isinstance(v, Real) and v >= 0 for v in value)):
        raise ValueError(f'Darts: random_smoothing must be None or (first epsilon, last epsilon), two numbers >= 0 '
                         f'(SDARTS-RS: (0.03, 0.3)), got {value!r}')
    return float(value[0]), float(value[1])
