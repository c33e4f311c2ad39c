import math

import pytest
import torch
from helpers import batch, sgd, tiny_darts
from mmengine.logging import MessageHub

from mmdarts.models import BetaDecay, SizeAwareDecay
from mmdarts.models.regularizers.size_aware_decay import op_size_coefficients


def test_beta_decay_by_hand():
    alphas = {'normal': torch.tensor([[0., 0.]]), 'reduce': torch.tensor([[math.log(3.), 0.]])}
    # mean(log(e^0 + e^0), log(3 + 1)) = (log 2 + log 4) / 2
    expected = (math.log(2.) + math.log(4.)) / 2
    reg = BetaDecay(max_weight=50., ramp_epochs=100)
    assert reg.weight(0) == 0 and reg.weight(10) == 5. and reg.weight(500) == 50.
    assert reg(alphas, epoch=10).item() == pytest.approx(5. * expected)


def test_size_aware_decay_by_hand():
    model = tiny_darts(primitives=['none', 'skip_connect', 'sep_conv_3x3'], channels=4, layers=3, nodes=1)
    reg = SizeAwareDecay(weight=0.1, base=1.0)
    alphas = {k: torch.ones_like(a) for k, a in model.mutator.alphas.items()}
    loss = reg(alphas, epoch=0, supernet=model.supernet)
    # normal edges: none 0, skip 0 params, sep 1 (the largest): λ = [1, 1, 2]; reduce edges from the inputs have
    # stride 2, so skip is a FactorizedReduce with parameters of its own: λ = [1, 1 + fr/sep, 2]
    def sep_size(c):  # two depthwise 3x3 and two pointwise c x c convs (counted by hand: banks or not)
        return 2 * (9 * c + c * c)

    sep, sep_reduce = sep_size(4), sep_size(8)  # the reduction cell has twice the channels
    fr = 2 * 8 * 4  # two 1x1 convs, 8 channels in, 4 out
    normal = 2 * (1 + 1 + 2)
    reduce = 2 * (1 + (1 + fr / max(fr, sep_reduce)) + (1 + sep_reduce / max(fr, sep_reduce)))
    assert sep > 0 and loss.item() == pytest.approx(0.1 * 0.5 * (normal + reduce))


@pytest.mark.parametrize('unroll', [False, True])
def test_regularizer_gradients_are_added_in_both_orders(unroll):
    MessageHub.get_instance('mmdarts_test_regularizers').update_info('epoch', 0)  # BetaDecay's weight is 0 then
    model = tiny_darts(unroll=unroll, dtype=torch.float64)
    train, val = batch(dtype=torch.float64, seed=1), batch(dtype=torch.float64, seed=2)
    optimizer = sgd(model)
    plain, _ = model.arch_gradients(train, val, optimizer)
    model.arch_regularizers.append(BetaDecay(max_weight=4., ramp_epochs=1))  # epoch 0: weight 0
    model.arch_regularizers.append(SizeAwareDecay(weight=0.5))
    regularized, log = model.arch_gradients(train, val, optimizer)
    alphas = dict(model.mutator.alphas)
    extra = torch.autograd.grad(model.arch_regularizers[1](alphas, 0, model.supernet), list(alphas.values()))
    for g, p, e in zip(regularized, plain, extra):
        torch.testing.assert_close(g, p + e)
    assert {'loss_BetaDecay', 'loss_SizeAwareDecay'} <= set(log)


def test_size_aware_decay_beside_darts_minus_auxiliary_skip():
    """DARTS-'s auxiliary skip is a candidate of every mixed op without an α: the decay's λ, one per α, is the
    same as without it (the skip's FactorizedReduce weights do not enter a reduce edge's largest op)."""
    plain, minus = tiny_darts(), tiny_darts(auxiliary_skip=True)
    expected = op_size_coefficients(plain.supernet, 1.)
    for kind, coefficients in op_size_coefficients(minus.supernet, 1.).items():
        assert coefficients.shape == minus.mutator.alphas[kind].shape
        torch.testing.assert_close(coefficients, expected[kind])
    minus.arch_regularizers.append(SizeAwareDecay(weight=0.5))
    _, log = minus.arch_gradients(batch(seed=1), batch(seed=2))
    assert 'loss_SizeAwareDecay' in log


def test_bad_arguments():
    with pytest.raises(ValueError, match='ramp_epochs >= 1'):
        BetaDecay(ramp_epochs=0)
    with pytest.raises(ValueError, match='must be >= 0'):
        SizeAwareDecay(weight=-1)
