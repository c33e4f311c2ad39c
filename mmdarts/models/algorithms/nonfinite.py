import logging
from typing import List, Sequence, Tuple

import torch
from mmengine.logging import print_log


def all_finite(iteration: int, step: str, pass_losses: List[Tuple[str, torch.Tensor]],
               grads: Sequence[torch.Tensor], grad_name: str, policy: str = 'raise') -> bool:
    """Whether every loss of ``pass_losses`` and every gradient is finite, at the cost of one host sync.

    If not: with ``policy='raise'``, raises ``FloatingPointError`` naming the iteration, the step and the first
    pass whose loss is not finite (else the gradient); with ``policy='skip'``, logs a warning and returns False.
    """
    checks = [torch.isfinite(loss).all() for _, loss in pass_losses]
    if grads:
        checks.append(torch.isfinite(torch.stack(torch._foreach_norm(list(grads)))).all())
    if bool(torch.stack(checks).all()):
        return True
    bad = [name for name, loss in pass_losses if not bool(torch.isfinite(loss).all())]
    what = f'loss of the {bad[0]} pass' if bad else grad_name
    message = f'Darts: non-finite {what} at iteration {iteration} ({step})'
    if policy == 'raise':
        raise FloatingPointError(f'{message}; stopped before applying it, so the weights, α and the last '
                                 "checkpoint stay as they were (Darts(nonfinite='skip') skips such steps)")
    print_log(f'{message}; this update is skipped', logger='current', level=logging.WARNING)
    return False
