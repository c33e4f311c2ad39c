"""A straightforward DARTS step, written the way the paper's code works, as the benchmark's reference point.

Every candidate is computed, the mixed edge as the literal sum Σ_o w_o·o(x) (``MixedOp.reference``), each op by
torch's own kernels (:func:`~mmdarts.models.functional.modes.plain_ops`: every conv output stored, dilated convs as
dilated convs, the reduce skip on its padded copy), the virtual step w' lives in a deep copy of the model, α
gradients come from ``.backward()`` (so the first-order α pass also computes weight gradients), and the ±ε passes
move the weights in place. It keeps the original code's faults (BN statistics updated by every pass, weight
gradients of the α pass discarded): it is for timing only, never for training.
"""
import copy
from typing import Dict

import torch
import torch.nn as nn

from mmdarts.models import Darts
from mmdarts.models.functional.modes import plain_ops
from mmdarts.models.search import MixedOp


def use_literal_sum(model: nn.Module) -> None:
    """Every mixed op of ``model`` computes Σ_o w_o·o(x) literally (``MixedOp.reference``)."""
    for module in model.modules():
        if isinstance(module, MixedOp):
            module.reference = True


class StraightforwardDarts:

    def __init__(self, model: Darts, weight_optimizer: torch.optim.SGD, alpha_optimizer: torch.optim.Optimizer,
                 grad_clip: float = 5.):
        self.model = model
        use_literal_sum(model)
        self.weight_optimizer = weight_optimizer
        self.alpha_optimizer = alpha_optimizer
        self.grad_clip = grad_clip

    def loss(self, model: Darts, batch: Dict) -> torch.Tensor:
        with plain_ops():
            return model.loss_and_log(batch)[0]

    def step(self, train: Dict, arch: Dict) -> None:
        """One iteration of Algorithm 1 on preprocessed batches."""
        self.alpha_optimizer.zero_grad()
        if self.model.unroll:
            self._unrolled_backward(train, arch)
        else:
            self.loss(self.model, arch).backward()
        self.alpha_optimizer.step()
        self.weight_optimizer.zero_grad()
        self.loss(self.model, train).backward()
        torch.nn.utils.clip_grad_norm_(self.model.architecture.parameters(), self.grad_clip)
        self.weight_optimizer.step()

    def _unrolled_backward(self, train: Dict, arch: Dict) -> None:
        weights = list(self.model.architecture.parameters())
        group = self.weight_optimizer.param_groups[0]
        lr, momentum, decay = group['lr'], group['momentum'], group['weight_decay']
        grads = torch.autograd.grad(self.loss(self.model, train), weights)
        unrolled = copy.deepcopy(self.model)  # the virtual step's model
        with torch.no_grad():
            for p, w, g in zip(unrolled.architecture.parameters(), weights, grads):
                buf = self.weight_optimizer.state[w].get('momentum_buffer')
                p.copy_(w - lr * ((momentum * buf if buf is not None else 0) + g + decay * w))
        unrolled.zero_grad()
        self.loss(unrolled, arch).backward()
        d_alpha = [a.grad for a in unrolled.mutator.parameters()]
        vector = [p.grad for p in unrolled.architecture.parameters()]
        eps = self.model.epsilon_scale / torch.cat([v.flatten() for v in vector]).norm()
        alphas = list(self.model.mutator.parameters())
        hessian = []
        for coefficient in (1., -2.):
            with torch.no_grad():
                for w, v in zip(weights, vector):
                    w.add_(coefficient * eps * v)
            hessian.append(torch.autograd.grad(self.loss(self.model, train), alphas))
        with torch.no_grad():
            for w, v in zip(weights, vector):
                w.add_(eps * v)
        for a, d, gp, gm in zip(alphas, d_alpha, *hessian):
            a.grad = d - lr * (gp - gm) / (2 * eps)
