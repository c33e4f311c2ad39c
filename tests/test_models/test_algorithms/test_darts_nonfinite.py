"""A NaN in any pass stops the search naming the pass, before anything is updated; or is skipped on request."""
import logging
import re

import pytest
import torch
from helpers import optim_wrappers, raw_batch, tiny_darts

from mmdarts.models import Darts

SECOND_ORDER_PASSES = ["virtual step's L_train(w, α)", "L_val(w', α)", 'L_train(w+, α)', 'L_train(w-, α)',
                       "weight step's L_train(w, α)"]


def poison_call(monkeypatch, index):
    """Make the index-th call of Darts.loss_and_log in a step return a NaN loss."""
    original = Darts.loss_and_log
    calls = []

    def poisoned(self, *args, **kwargs):
        loss, log = original(self, *args, **kwargs)
        calls.append(1)
        return (loss * float('nan') if len(calls) == index + 1 else loss), log

    monkeypatch.setattr(Darts, 'loss_and_log', poisoned)


def data():
    return dict(train=raw_batch(seed=1), arch=raw_batch(seed=2))


@pytest.mark.parametrize('index,name', list(enumerate(SECOND_ORDER_PASSES)))
def test_nan_in_each_pass_is_named_and_nothing_moves(monkeypatch, index, name):
    model = tiny_darts(unroll=True)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}  # weights and α, not BN statistics
    poison_call(monkeypatch, index)
    with pytest.raises(FloatingPointError, match=re.escape(f'non-finite loss of the {name} pass at iteration 0')):
        model.train_step(data(), optim_wrappers(model))
    after = dict(model.named_parameters())
    for key, value in before.items():
        if index < 4 or not key.startswith('mutator'):  # a weight-step fault comes after the α step
            assert torch.equal(value, after[key]), key


def test_first_order_pass_name(monkeypatch):
    model = tiny_darts(unroll=False)
    poison_call(monkeypatch, 0)
    with pytest.raises(FloatingPointError, match=r'L_val\(w, α\) pass'):
        model.train_step(data(), optim_wrappers(model))


def test_nan_alpha_gradient(monkeypatch):
    import mmdarts.models.algorithms.second_order as second_order
    monkeypatch.setattr(second_order, 'unrolled_arch_gradient', lambda g, h, lr: [x * float('nan') for x in g])
    model = tiny_darts(unroll=True)
    with pytest.raises(FloatingPointError, match='non-finite α gradient at iteration 0'):
        model.train_step(data(), optim_wrappers(model))


def test_skip_policy_warns_and_keeps_state(monkeypatch, caplog):
    model = tiny_darts(unroll=True)
    model.nonfinite = 'skip'
    alphas = [a.clone() for a in model.mutator.parameters()]
    poison_call(monkeypatch, 1)
    with caplog.at_level(logging.WARNING):
        model.train_step(data(), optim_wrappers(model))  # the α update is skipped, the weight step goes on
    assert all(torch.equal(a, b) for a, b in zip(alphas, model.mutator.parameters()))


def test_bad_policy_is_refused():
    with pytest.raises(ValueError, match="nonfinite must be 'raise' or 'skip'"):
        tiny_darts().__class__(architecture=dict(type='ImageClassifier'), nonfinite='ignore')
