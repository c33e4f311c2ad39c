"""The benchmark's baseline computes what mmdarts computes (so timing it against mmdarts compares equals)."""
import copy

import pytest
import torch
import torch.nn as nn
from helpers import adam, batch, optim_wrappers, sgd, tiny_darts

from mmdarts.models.ops import DilatedConv2d, DilConv, FactorizedReduce
from mmdarts.testing import StraightforwardDarts


@pytest.mark.parametrize('unroll', [False, True], ids=['first_order', 'second_order'])
def test_one_baseline_step_moves_alpha_and_weights_as_mmdarts_does(unroll):
    model = tiny_darts(unroll=unroll, dtype=torch.float64, layers=3, nodes=2)
    baseline_model = copy.deepcopy(model)
    train, val = batch(dtype=torch.float64, seed=1), batch(dtype=torch.float64, seed=2)
    wrappers = optim_wrappers(model)
    baseline = StraightforwardDarts(baseline_model, sgd(baseline_model), adam(baseline_model))
    assert not any(type(m) in (DilatedConv2d, DilConv, FactorizedReduce) for m in baseline_model.modules())
    assert any(isinstance(m, nn.Conv2d) and m.dilation == (2, 2) for m in baseline_model.modules())

    arch_grads, _ = model.arch_gradients(train, val, wrappers['architecture'].optimizer)
    for alpha, grad in zip(model.mutator.parameters(), arch_grads):
        alpha.grad = grad
    wrappers['mutator'].step()
    loss, _ = model.loss_and_log(train, detach_alpha=True)
    wrappers['architecture'].update_params(loss)
    baseline.step(train, val)

    for a, b in zip(model.mutator.parameters(), baseline_model.mutator.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    for (name, a), b in zip(model.architecture.named_parameters(), baseline_model.architecture.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=name)
