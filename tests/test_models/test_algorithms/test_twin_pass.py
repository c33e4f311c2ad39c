"""The twin pass (Eq. 8's passes at w⁺ and w⁻ as one) against the two passes it replaces, in float64: both losses,
the α gradient of their difference, and the whole second-order α gradient of a search step."""
import copy
import re
import weakref

import pytest
import torch
from helpers import SMOOTH_PRIMITIVES, batch, optim_wrappers, raw_batch, sgd, tiny_architecture, tiny_darts
from search_helpers import assert_twin_pass_equals_two_passes, batched_model, perturbed

from mmdarts.models import Darts
from mmdarts.models.algorithms import (
    float32_is_ieee,
    frozen_running_stats,
    second_order,
    twin_pass_unavailable,
)
from mmdarts.models.ops import DARTS_PRIMITIVES
from mmdarts.registry import CANDIDATE_OPS
from mmdarts.testing import count_aten_calls


@CANDIDATE_OPS.register_module('test_twin_conv_bias')
def conv_with_bias(channels, stride, affine, act_cfg):
    """A candidate of no batched kind (a conv with a bias): a generic module, inside the twin pass too."""
    return torch.nn.Conv2d(channels, channels, 3, stride, 1, bias=True)


@pytest.mark.parametrize('primitives,nodes,layers', [
    (DARTS_PRIMITIVES, 2, 3),  # the paper's candidates; reduction cells (the factorized skip, stride 2 waves)
    (DARTS_PRIMITIVES, 4, 4),  # four nodes; a cell after a reduction (its FactorizedReduce preprocessing)
    (SMOOTH_PRIMITIVES, 3, 3),  # a separable conv without a dilated one beside it
    (('none', 'max_pool_3x3', 'skip_connect'), 3, 3),  # no conv at all
    (('none', 'skip_connect'), 2, 3),  # no BN in the cells
    (('sep_conv_3x3', 'test_twin_conv_bias'), 3, 3),  # a generic module (grouped by edge and copy)
])
def test_twin_losses_and_their_alpha_gradient_equal_two_passes(primitives, nodes, layers):
    assert_twin_pass_equals_two_passes(batched_model(primitives=primitives, nodes=nodes, layers=layers),
                                       batch(dtype=torch.float64))


@pytest.mark.parametrize('edge_normalization', [False, True], ids=['partial', 'edge_weights'])
def test_pc_darts_runs_inside_the_twin_pass(edge_normalization):
    """Partial channels (each copy's first 1/K through the mixed ops, the rest bypassed and shuffled back, pooled
    on reduction edges) and PC-DARTS's edge weights, copy by copy: the twin pass equals the two passes."""
    architecture = tiny_architecture(edge_layout='batched', nodes=3)
    architecture['backbone'].update(partial_channels=2)
    model = Darts(architecture=architecture, mutator=dict(type='DiffMutator', edge_normalization=edge_normalization))
    with torch.no_grad():
        for alpha in model.mutator.parameters():
            alpha.normal_(0, 0.5)
    model = model.to(torch.float64).train()
    model.memory_format = 'contiguous'
    assert_twin_pass_equals_two_passes(model, batch(dtype=torch.float64))


def second_order_gradients(model, data):
    optimizer = sgd(model, lr=0.05)
    with torch.no_grad():  # momentum buffers, as after a few steps
        for p in model.architecture.parameters():
            optimizer.state[p]['momentum_buffer'] = torch.full_like(p, 0.01)
    return model.arch_gradients(data, batch(dtype=torch.float64, seed=1), optimizer)[0]


def test_second_order_alpha_gradient_with_the_twin_pass_equals_two_passes():
    twin = batched_model(primitives=DARTS_PRIMITIVES, nodes=3, layers=3, unroll=True)
    two = copy.deepcopy(twin)
    two.twin_pass = False
    data = batch(dtype=torch.float64)
    calls = {}
    results = {}
    for name, model in (('twin', twin), ('two', two)):
        calls[name], _ = count_aten_calls(lambda: results.__setitem__(name, second_order_gradients(model, data)))
    for got, want in zip(results['twin'], results['two']):
        torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-12)
    # the step's five passes become four: the twin pass saves a good part of one α-only pass (at this tiny size
    # half; the copies' weights, one concatenation per tensor, weigh more here than in the paper's supernet)
    names, plus, _ = perturbed(twin)
    alphas = list(twin.mutator.parameters())
    with frozen_running_stats(twin.architecture):
        one, _ = count_aten_calls(
            lambda: torch.autograd.grad(twin.loss_and_log(data, dict(zip(names, plus)))[0], alphas))
    assert calls['twin'] < calls['two'] - 0.4 * one, (calls, one)


def test_twin_pass_is_used_only_where_it_applies():
    model = batched_model(primitives=DARTS_PRIMITIVES, nodes=2, layers=3)
    data = batch(dtype=torch.float64)
    assert twin_pass_unavailable(model, data) is not None  # BNs that track running statistics: outside the α step
    with frozen_running_stats(model.architecture):
        assert twin_pass_unavailable(model, data) is None
        channels_last = dict(data, inputs=data['inputs'].contiguous(memory_format=torch.channels_last))
        assert twin_pass_unavailable(model, channels_last) is not None
        model.twin_pass = False
        assert twin_pass_unavailable(model, data) is not None
    per_edge = tiny_darts(dtype=torch.float64, edge_layout='per_edge')
    prelu = batched_model(act='PReLU')  # an activation with a weight: one per copy would be needed
    for m in (per_edge, prelu):
        with frozen_running_stats(m.architecture):
            assert twin_pass_unavailable(m, data) is not None


@pytest.mark.parametrize('copy', [0, 1], ids=['plus', 'minus'])
def test_a_nan_in_either_copy_is_named_and_nothing_moves(monkeypatch, copy):
    """The twin pass records both losses under their passes' names: the non-finite check names the right one."""
    model = tiny_darts(unroll=True, edge_layout='batched')
    model.memory_format = 'contiguous'
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    original = second_order.twin_losses

    def poisoned(*args, **kwargs):
        losses = original(*args, **kwargs)
        losses[copy] = losses[copy] * float('nan')
        return losses

    monkeypatch.setattr(second_order, 'twin_losses', poisoned)
    name = ['L_train(w+, α)', 'L_train(w-, α)'][copy]
    with pytest.raises(FloatingPointError, match=re.escape(f'non-finite loss of the {name} pass at iteration 0')):
        model.train_step(dict(train=raw_batch(seed=1), arch=raw_batch(seed=2)), optim_wrappers(model))
    for key, value in model.named_parameters():
        assert torch.equal(value, before[key]), key


def test_twin_pass_runs_in_float32_whatever_the_caller_set(monkeypatch):
    """Inside the α step as the two passes were: autocast off, float32 as IEEE (TF32 off), whatever the caller set;
    its graph gone once the step is done."""
    model = tiny_darts(unroll=True, edge_layout='batched')
    model.memory_format = 'contiguous'
    seen, losses = [], []
    original = second_order.twin_losses

    def recording(*args, **kwargs):
        seen.append((torch.is_autocast_enabled('cpu'), float32_is_ieee()))
        out = original(*args, **kwargs)
        losses.extend(weakref.ref(loss) for loss in out)
        return out

    monkeypatch.setattr(second_order, 'twin_losses', recording)
    torch.backends.cudnn.conv.fp32_precision = 'tf32'  # torch's default: cuDNN convs may use TF32
    assert not float32_is_ieee()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        model.train_step(dict(train=raw_batch(seed=1), arch=raw_batch(seed=2)), optim_wrappers(model))
    assert seen == [(False, True)]
    assert len(losses) == 2 and all(ref() is None for ref in losses)  # the twin graph released with the step


@pytest.mark.cuda
def test_twin_pass_equals_two_passes_on_cuda():
    """On CUDA (where 'auto' stores the cells batched and inputs stay contiguous, so searches use the twin pass)."""
    model = tiny_darts(dtype=torch.float64, primitives=DARTS_PRIMITIVES, nodes=3).cuda()
    data = batch(dtype=torch.float64)
    data = dict(inputs=data['inputs'].cuda(), data_samples=[s.cuda() for s in data['data_samples']])
    assert_twin_pass_equals_two_passes(model, data)
