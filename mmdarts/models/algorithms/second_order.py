"""The passes of the second-order α gradient (Eq. 6-8 of Liu et al., 2019) over a :class:`Darts` model.

Five evaluations at five different points, each used once: L_train at (w, α) for the virtual step, L_val at
(w', α) for ∇α and v = ∇w' L_val, L_train at (w±εv, α) for Eq. 8's difference (α gradients only, the weights need
no grad; one twin pass where the supernet allows, :mod:`~mmdarts.models.algorithms.twin_pass`), or instead of the last
two, a double backward through the first (``hvp='exact'``). The weights
w', w⁺, w⁻ are tensors handed to ``functional_call``: the model is never copied and its weights never written.
"""
from contextlib import contextmanager, nullcontext
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch

from ..functional.modes import twice_differentiable
from .arch_gradient import (
    exact_hvp,
    finite_difference_epsilon,
    finite_difference_hvp,
    finite_difference_hvp_of_difference,
    perturb,
    sgd_hyperparameters,
    unrolled_arch_gradient,
    virtual_step,
)
from .precision import full_precision
from .running_stats import frozen_running_stats
from .twin_pass import twin_losses, twin_pass_unavailable


@contextmanager
def weights_without_grad(weights: Sequence[torch.Tensor]) -> Iterator[None]:
    """Inside, ``weights`` need no grad (their flags are restored on exit): a pass that differentiates only α
    stores and recomputes nothing for them. Unlike detached copies, this costs no operator call per tensor."""
    flags = [w.requires_grad for w in weights]
    for w in weights:
        w.requires_grad_(False)
    try:
        yield
    finally:
        for w, flag in zip(weights, flags):
            w.requires_grad_(flag)


def pass_gradients(model, batch: Dict, weights: Optional[Dict[str, torch.Tensor]], wrt: Sequence[torch.Tensor],
                   name: str, record: Callable[[Tuple[str, torch.Tensor]], None], detach_alpha: bool = False,
                   create_graph: bool = False) -> Tuple[Tuple[torch.Tensor, ...], Dict[str, torch.Tensor]]:
    """One pass: ∇ of ``model``'s loss on ``batch`` at ``weights`` with respect to ``wrt``, and its log.

    The loss and its graph are released on return (with ``create_graph``, the gradients keep what their own graph
    needs): a graph kept into the next pass keeps thousands of small allocations alive among that pass's
    activations and fragments the heap (measured in ``docs/benchmarks.md``).
    """
    loss, log_vars = model.loss_and_log(batch, weights, detach_alpha=detach_alpha)
    record((name, loss.detach()))
    return torch.autograd.grad(loss, list(wrt), create_graph=create_graph), log_vars


def unregularized_arch_gradients(model, train_batch: Dict, arch_batch: Dict,
                                 weight_optimizer: Optional[torch.optim.Optimizer],
                                 record: Callable[[Tuple[str, torch.Tensor]], None], lr: Optional[torch.Tensor] = None
                                 ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
    """The α gradient of ``model`` (a :class:`Darts`) before its regularisers: first order ∇α L_val(w, α), or
    Eq. 7 (:func:`second_order_arch_gradients`); BN statistics frozen, every pass in float32 (autocast off, no
    TF32: Eq. 8's ±ε differences lie below the rounding of TF32 and of half precision, :func:`full_precision`)."""
    alphas = list(model.mutator.parameters())
    with frozen_running_stats(model.architecture), full_precision():
        if not model.unroll:  # weights that need no grad: no op stores or recomputes for their gradients
            with weights_without_grad(model._weights()[1]):
                grads, log_vars = pass_gradients(model, arch_batch, None, alphas, 'L_val(w, α)', record)
            return list(grads), log_vars
        if weight_optimizer is None:
            raise ValueError('Darts(unroll=True).arch_gradients needs the weight optimizer (its lr, momentum '
                             'and weight decay define the virtual step)')
        return second_order_arch_gradients(model, train_batch, arch_batch, weight_optimizer, record, lr)


def second_order_arch_gradients(model, train_batch: Dict, arch_batch: Dict, weight_optimizer: torch.optim.Optimizer,
                                record: Callable[[Tuple[str, torch.Tensor]], None],
                                lr: Optional[torch.Tensor] = None
                                ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
    """Eq. 7 for ``model`` (a :class:`Darts`), one tensor per mutator parameter, and L_val's log.

    The virtual step uses ``weight_optimizer``'s lr, momentum buffers and weight decay; ``record`` receives
    ``(pass name, loss)`` of each pass; ``lr``, if given, is ξ as a 0-dim tensor (a CUDA graph reads it from
    memory, where the optimizer's float would be baked in). Run inside ``frozen_running_stats``: no pass may move
    BN statistics.
    Each pass's graph, and each tensor once used, is released before the next pass starts.
    """
    alphas = list(model.mutator.parameters())
    names, weights = model._weights()
    xi, momentums, decays, buffers = sgd_hyperparameters(weight_optimizer, weights)
    lr = xi if lr is None else lr
    exact = model.hvp == 'exact'  # then the virtual pass keeps its graph for the double backward
    with twice_differentiable() if exact else nullcontext():
        grads_train, _ = pass_gradients(model, train_batch, None, weights, "virtual step's L_train(w, α)", record,
                                        detach_alpha=not exact, create_graph=exact)
    virtual = virtual_step(weights, grads_train, buffers, lr, momentums, decays)  # Eq. 6 (no graph: no_grad)
    if not exact:
        del grads_train
    grads, log_vars = pass_gradients(model, arch_batch, dict(zip(names, virtual)), alphas + virtual,
                                     "L_val(w', α)", record)
    grads_val, dw = grads[:len(alphas)], grads[len(alphas):]
    del virtual, grads  # dw alone holds ∇w' from here, until w± are made
    if exact:
        hvp = exact_hvp(grads_train, alphas, dw)
    else:
        epsilon = finite_difference_epsilon(dw, model.epsilon_scale)
        w_plus, w_minus = perturb(weights, dw, epsilon)
        del dw
        unavailable = twin_pass_unavailable(model, train_batch, names)
        model.step_plan.notes['Eq. 8'] = 'one twin pass' if unavailable is None else f'two passes ({unavailable})'
        if unavailable is None:  # both passes as one (twin_pass.py)
            losses = twin_losses(model, train_batch, names, w_plus, w_minus)
            del w_plus, w_minus
            record(('L_train(w+, α)', losses[0].detach()))
            record(('L_train(w-, α)', losses[1].detach()))
            difference = torch.autograd.grad(losses[0] - losses[1], alphas)
            del losses
            hvp = finite_difference_hvp_of_difference(difference, epsilon)  # Eq. 8
        else:
            grads_plus, _ = pass_gradients(model, train_batch, dict(zip(names, w_plus)), alphas, 'L_train(w+, α)',
                                           record)
            del w_plus
            grads_minus, _ = pass_gradients(model, train_batch, dict(zip(names, w_minus)), alphas, 'L_train(w-, α)',
                                            record)
            hvp = finite_difference_hvp(grads_plus, grads_minus, epsilon)  # Eq. 8
    return unrolled_arch_gradient(grads_val, hvp, lr), log_vars  # Eq. 7
