"""The benchmark's baseline computes what mmdarts computes (so timing it against mmdarts compares equals)."""
import copy

import pytest
import torch
from helpers import adam, batch, optim_wrappers, sgd, tiny_darts
from torch.autograd.function import BackwardCFunction

from mmdarts.models.search import MixedOp
from mmdarts.testing import StraightforwardDarts


def autograd_nodes(root):
    seen, stack = [], [root]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.append(node)
            stack.extend(next_node for next_node, _ in node.next_functions)
    return seen


@pytest.mark.parametrize('unroll', [False, True], ids=['first_order', 'second_order'])
def test_one_baseline_step_moves_alpha_and_weights_as_mmdarts_does(unroll):
    model = tiny_darts(unroll=unroll, dtype=torch.float64, layers=3, nodes=2)
    baseline_model = copy.deepcopy(model)
    train, val = batch(dtype=torch.float64, seed=1), batch(dtype=torch.float64, seed=2)
    wrappers = optim_wrappers(model)
    baseline = StraightforwardDarts(baseline_model, sgd(baseline_model), adam(baseline_model))
    assert all(m.reference for m in baseline_model.modules() if isinstance(m, MixedOp))  # the literal sum
    graph = autograd_nodes(baseline.loss(baseline_model, train).grad_fn)
    assert not any(isinstance(node, BackwardCFunction) for node in graph)  # torch's own ops: no mmdarts Function
    names = {type(node).__name__ for node in graph}
    assert 'ConstantPadNdBackward0' in names  # the reduce skip's padded copy, as the paper's code makes it
    mmdarts_graph = {type(n).__name__ for n in autograd_nodes(model.loss_and_log(train)[0].grad_fn)}
    assert 'DepthwisesPointwiseBackward' in mmdarts_graph  # what plain_ops turns off

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
