"""Helpers shared by the tests of the search cells and of the search step: float64 models and batches, a search run
eagerly and captured, the twin pass against two passes, state in either storage layout."""
import copy

import torch
import torch.nn as nn
from helpers import batch, optim_wrappers, tiny_darts

from mmdarts.models.algorithms import (
    finite_difference_epsilon,
    frozen_running_stats,
    perturb,
    twin_losses,
    twin_pass_unavailable,
)
from mmdarts.models.search import SearchCell
from mmdarts.models.search.edge_banks import convert_edge_state


class Prepared(nn.Module):
    """A data preprocessor that hands batches on as they are (already float64 tensors on the model's device)."""

    def forward(self, data, training=False):
        return dict(inputs=data['inputs'], data_samples=data['data_samples'])


def on(device, data):
    return dict(inputs=data['inputs'].to(device), data_samples=[s.to(device) for s in data['data_samples']])


def twin_searches(unroll, hvp, device='cpu', capturer=None, steps=5, sizes=None, model=None, event=None,
                  wrappers_of=optim_wrappers, dtype=torch.float64, tol=1e-10, **kwargs):
    """The same search run eagerly and captured, with a learning rate that changes at every step; returns both
    models. ``model``: the Darts to start from (default a tiny one built with ``kwargs``); ``event(step, data,
    models, wrappers)``: called before each step, may change both searches alike."""
    eager = model if model is not None else tiny_darts(unroll=unroll, dtype=dtype, **kwargs)
    eager.hvp = hvp
    eager.data_preprocessor = Prepared()
    eager.to(device)
    captured = copy.deepcopy(eager)
    eager.cuda_graphs = False
    captured.pass_capturer = capturer
    wrappers = [wrappers_of(m) for m in (eager, captured)]
    for step in range(steps):
        n = sizes[step] if sizes else 6
        data = dict(train=on(device, batch(n, dtype=dtype, seed=2 * step)),
                    arch=on(device, batch(n, dtype=dtype, seed=2 * step + 1)))
        if event is not None:
            event(step, data, (eager, captured), wrappers)
        logs = []
        for model, wrapper in zip((eager, captured), wrappers):
            for group in wrapper['architecture'].optimizer.param_groups:
                group['lr'] = 0.1 / (step + 1)  # the schedule moves ξ: a graph must read it from memory
            logs.append(model.train_step(data, wrapper))
        assert logs[1].keys() == logs[0].keys()
        for key in logs[0]:
            torch.testing.assert_close(logs[1][key], logs[0][key], rtol=tol, atol=tol / 100, msg=key,
                                       equal_nan=True)
    return eager, captured


def assert_same_state(eager, captured, tol=1e-10):
    for (name, a), b in zip(eager.state_dict().items(), captured.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=tol, atol=tol / 100, msg=name)


def batched_model(**kwargs):
    model = tiny_darts(dtype=torch.float64, edge_layout='batched', **kwargs)
    model.memory_format = 'contiguous'
    return model


def perturbed(model, seed=0):
    """w⁺ and w⁻ of Eq. 8 for a random direction v."""
    names, weights = model._weights()
    g = torch.Generator().manual_seed(seed)
    v = [torch.randn(w.shape, generator=g, dtype=w.dtype).to(w.device) for w in weights]
    epsilon = finite_difference_epsilon(v)
    return names, *perturb(weights, v, epsilon)


def assert_twin_pass_equals_two_passes(model, data):
    """Both losses, and ∇α of their difference against g⁺ − g⁻ of the two passes."""
    names, plus, minus = perturbed(model)
    alphas = list(model.mutator.parameters())
    with frozen_running_stats(model.architecture):
        assert twin_pass_unavailable(model, data) is None
        twin = twin_losses(model, data, names, plus, minus)
        difference = torch.autograd.grad(twin[0] - twin[1], alphas)
        expected, grads = [], []
        for weights in (plus, minus):
            loss, _ = model.loss_and_log(data, dict(zip(names, weights)))
            expected.append(loss)
            grads.append(torch.autograd.grad(loss, alphas))
    for got, want in zip(twin, expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    assert (twin[0] - twin[1]).abs() > 1e-8  # the copies differ: a mixed-up copy would show
    for got, gp, gm in zip(difference, *grads):
        want = gp - gm
        torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-9 * want.abs().max().item())
        assert want.abs().max() > 1e-9


def loss_and_gradients(model, data, frozen=False):
    params = list(model.parameters())
    if frozen:
        with frozen_running_stats(model):
            loss, _ = model.loss_and_log(data)
    else:
        loss, _ = model.loss_and_log(data)
    return loss, torch.autograd.grad(loss, params)


def in_layout_of(model, tensors):
    """``tensors`` (name -> tensor, a per-edge model's) under ``model``'s names: per edge or banked."""
    tensors = dict(tensors)
    for name, cell in model.named_modules():
        if isinstance(cell, SearchCell):
            convert_edge_state(cell, tensors, f'{name}.' if name else '')
    return tensors
