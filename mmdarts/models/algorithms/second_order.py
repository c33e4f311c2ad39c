"""The passes of the second-order α gradient (Eq. 6-8 of Liu et al., 2019) over a :class:`Darts` model.

Five evaluations at five different points, each used once: L_train at (w, α) for the virtual step, L_val at
(w', α) for ∇α and v = ∇w' L_val, L_train at (w±εv, α) for Eq. 8's difference (α gradients only, the weights need
no grad), or instead of the last two, a double backward through the first (``hvp='exact'``). The weights
w', w⁺, w⁻ are tensors handed to ``functional_call``: the model is never copied and its weights never written.
"""
from contextlib import nullcontext
from typing import Callable, Dict, List, Tuple

import torch

from ..ops import twice_differentiable
from ..utils import (
    exact_hvp,
    finite_difference_epsilon,
    finite_difference_hvp,
    perturb,
    sgd_hyperparameters,
    unrolled_arch_gradient,
    virtual_step,
)


def second_order_arch_gradients(model, train_batch: Dict, arch_batch: Dict, weight_optimizer: torch.optim.Optimizer,
                                record: Callable[[Tuple[str, torch.Tensor]], None]
                                ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
    """Eq. 7 for ``model`` (a :class:`Darts`), one tensor per mutator parameter, and L_val's log.

    The virtual step uses ``weight_optimizer``'s lr, momentum buffers and weight decay; ``record`` receives
    ``(pass name, loss)`` of each pass. Run inside ``frozen_running_stats``: no pass may move BN statistics.
    """
    alphas = list(model.mutator.parameters())
    names, weights = model._weights()
    lr, momentums, decays, buffers = sgd_hyperparameters(weight_optimizer, weights)
    exact = model.hvp == 'exact'  # then the virtual pass keeps its graph for the double backward
    with twice_differentiable() if exact else nullcontext():
        loss_train, _ = model.loss_and_log(train_batch, detach_alpha=not exact)
    record(("virtual step's L_train(w, α)", loss_train.detach()))
    grads_train = torch.autograd.grad(loss_train, weights, create_graph=exact)
    virtual = virtual_step(weights, [g.detach() for g in grads_train], buffers, lr, momentums, decays)  # Eq. 6
    loss_val, log_vars = model.loss_and_log(arch_batch, dict(zip(names, virtual)))
    record(("L_val(w', α)", loss_val.detach()))
    grads = torch.autograd.grad(loss_val, alphas + virtual)
    grads_val, dw = grads[:len(alphas)], grads[len(alphas):]
    if exact:
        hvp = exact_hvp(grads_train, alphas, dw)
    else:
        epsilon = finite_difference_epsilon(dw, model.epsilon_scale)
        w_plus, w_minus = perturb(weights, dw, epsilon)
        grads_pm = []
        for name, perturbed in (('L_train(w+, α)', w_plus), ('L_train(w-, α)', w_minus)):
            loss, _ = model.loss_and_log(train_batch, dict(zip(names, perturbed)))
            record((name, loss.detach()))
            grads_pm.append(torch.autograd.grad(loss, alphas))
        hvp = finite_difference_hvp(*grads_pm, epsilon)  # Eq. 8
    return unrolled_arch_gradient(grads_val, hvp, lr), log_vars  # Eq. 7
