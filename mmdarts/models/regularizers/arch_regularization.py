from typing import Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn


def regularized_arch_gradients(regularizers: Sequence[nn.Module], alphas: Dict[str, torch.Tensor],
                               params: List[torch.Tensor], grads: List[torch.Tensor], epoch: int, supernet: nn.Module,
                               log_vars: Dict[str, torch.Tensor],
                               record: Callable[[Tuple[str, torch.Tensor]], None]) -> List[torch.Tensor]:
    """``grads`` (one per tensor of ``params``, the mutator's parameters: α and any β) plus the gradients of the
    regularisers of ``alphas``; each term's value goes to ``log_vars`` as ``loss_<Name>`` and to ``record``."""
    if not len(regularizers):
        return grads
    terms = [(type(r).__name__, r(alphas, epoch, supernet)) for r in regularizers]
    for name, term in terms:
        record((f'{name} regulariser', term.detach()))
        log_vars[f'loss_{name}'] = term.detach()
    total = sum(term for _, term in terms)
    extra = torch.autograd.grad(total, params, allow_unused=True)
    return [g if e is None else g + e for g, e in zip(grads, extra)]
