"""A straightforward DARTS step, written the way the paper's code works, as the benchmark's reference point.

Every candidate is computed (``MixedOp.reference``) by the paper's plain ops (dilated convs as ``nn.Conv2d``, every
conv output stored, the reduce skip with its padded copy), the virtual step w' lives in a deep copy of the model, α
gradients come from ``.backward()`` (so the first-order α pass also computes weight gradients), and the ±ε passes
move the weights in place. It keeps the original code's faults (BN statistics updated by every pass, weight
gradients of the α pass discarded): it is for timing only, never for training.
"""
import copy
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdarts.models import Darts
from mmdarts.models.ops import DilatedConv2d, DilConv, FactorizedReduce, SepConv
from mmdarts.models.search import MixedOp


class PaperFactorizedReduce(FactorizedReduce):
    """The reduce skip as the paper's code computes it: conv_2 with stride 2 on a zero-padded shifted copy."""

    def forward_parts(self, x: torch.Tensor, skip_act: bool = False, skip_bn: bool = False) -> torch.Tensor:
        x = x if skip_act else self.act(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        out = torch.cat([self.even_grid_conv(x), F.conv2d(shifted, self.conv2.weight, None, 2)], dim=1)
        return out if skip_bn else self.bn(out)


class PaperDilConv(DilConv):
    """activation, depthwise conv, pointwise conv, BN, each as torch computes it (every output stored)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.Sequential.forward(self, x)

    def forward_parts(self, x: torch.Tensor, skip_act: bool = False, skip_bn: bool = False) -> torch.Tensor:
        act, depthwise, pointwise, bn = self
        h = pointwise(depthwise(x if skip_act else act(x)))
        return h if skip_bn else bn(h)


class PaperSepConv(SepConv):
    """Two DilConvs one after the other, as torch computes them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.Sequential.forward(self, x)

    def forward_parts(self, x: torch.Tensor, skip_act: bool = False, skip_bn: bool = False) -> torch.Tensor:
        first, second = self
        return second.forward_parts(first.forward_parts(x, skip_act, False), False, skip_bn)


def use_paper_ops(model: nn.Module) -> None:
    """Turns mmdarts' faster exact ops of ``model`` into the paper's plain ones, in place (same parameters)."""
    for module in model.modules():
        if isinstance(module, MixedOp):
            module.reference = True
        elif type(module) is DilatedConv2d:
            module.__class__ = nn.Conv2d
        elif type(module) is FactorizedReduce:
            module.__class__ = PaperFactorizedReduce
        elif type(module) is DilConv:
            module.__class__ = PaperDilConv
        elif type(module) is SepConv:
            module.__class__ = PaperSepConv


class StraightforwardDarts:

    def __init__(self, model: Darts, weight_optimizer: torch.optim.SGD, alpha_optimizer: torch.optim.Optimizer,
                 grad_clip: float = 5., epsilon_scale: float = 0.01):
        self.model = model
        use_paper_ops(model)
        self.weight_optimizer = weight_optimizer
        self.alpha_optimizer = alpha_optimizer
        self.grad_clip = grad_clip
        self.epsilon_scale = epsilon_scale

    def loss(self, model: Darts, batch: Dict) -> torch.Tensor:
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
        eps = self.epsilon_scale / torch.cat([v.flatten() for v in vector]).norm()
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
