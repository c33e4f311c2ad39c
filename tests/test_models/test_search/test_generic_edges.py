"""New candidate ops declared in this file only (registered, named in ``primitives``, nothing else): searched in the
batched waves, with the twin pass and captured passes, retrained in DartsNet, drawn, counted; every number equal
in float64 to the literal sum Σ_o w_o·o(x) (``MixedOp.reference``) on the per-edge layout.

``test_sep_conv_7x7`` is of a family the waves know (a separable conv); ``test_conv_7x1_1x7`` (the original DARTS
code's factorised conv) and ``test_gain_norm_conv`` (a BN, then a module of its own under vmap whose forward
updates its running state, a conv with a bias, no final BN) are generic modules, run once for all the edges of a
wave (:mod:`generic_edges`)."""
import copy
import dataclasses
from unittest.mock import patch

import pytest
import torch
import torch.nn as nn
from helpers import batch, optim_wrappers, tiny_darts
from search_helpers import (
    Prepared,
    assert_same_state,
    assert_twin_pass_equals_two_passes,
    batched_model,
    in_layout_of,
    loss_and_gradients,
    twin_searches,
)

from mmdarts.models.algorithms import second_order
from mmdarts.models.algorithms.captured_passes import PassCapturer
from mmdarts.models.backbones import DartsNet
from mmdarts.models.ops import SepConv, build_activation
from mmdarts.models.search import SearchCell
from mmdarts.models.search.generic_edges import GenericColumn
from mmdarts.registry import CANDIDATE_OPS
from mmdarts.structures import Genotype
from mmdarts.testing import OpReplayPass, count_aten_calls
from mmdarts.testing.straightforward import use_literal_sum
from mmdarts.utils.complexity import count_model
from mmdarts.visualization.cell_diagram import draw_cell


@CANDIDATE_OPS.register_module('test_sep_conv_7x7')
def sep_conv_7x7(channels, stride, affine, act_cfg):
    return SepConv(channels, channels, 7, stride, 3, affine, act_cfg)


@CANDIDATE_OPS.register_module('test_conv_7x1_1x7')
def conv_7x1_1x7(channels, stride, affine, act_cfg):
    return nn.Sequential(build_activation(act_cfg),
                         nn.Conv2d(channels, channels, (1, 7), (1, stride), (0, 3), bias=False),
                         nn.Conv2d(channels, channels, (7, 1), (stride, 1), (3, 0), bias=False),
                         nn.BatchNorm2d(channels, affine=affine))


class Gain(nn.Module):
    """x·g + s per channel, s a running mean of |x·g| that its forward updates in training: a weight and running
    state of its own (run under vmap in the waves; the α step must leave s as it found it, as BN's statistics)."""

    def __init__(self, channels):
        super().__init__()
        self.gain = nn.Parameter(torch.linspace(0.5, 1.5, channels))
        self.register_buffer('shift', torch.linspace(-0.1, 0.1, channels))

    def forward(self, x):
        y = x * self.gain.view(1, -1, 1, 1)
        if self.training:
            self.shift.mul_(0.9).add_(0.1 * y.detach().abs().mean((0, 2, 3)))
        return y + self.shift.view(1, -1, 1, 1)


@CANDIDATE_OPS.register_module('test_gain_norm_conv')
def gain_norm_conv(channels, stride, affine, act_cfg):
    return nn.Sequential(nn.BatchNorm2d(channels, affine=affine), Gain(channels), nn.ReLU(),
                         nn.Conv2d(channels, channels, 3, stride, 1, bias=True))


NEW_OPS = ('none', 'max_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'test_sep_conv_7x7', 'test_conv_7x1_1x7')
SPACES = [NEW_OPS, ('none', 'skip_connect', 'test_gain_norm_conv', 'test_conv_7x1_1x7')]
SPACE_IDS = ['sep7_conv71', 'gain_conv71']


def literal_and_batched(primitives, **kwargs):
    """The same tiny search model as the literal sum on the per-edge layout and batched (its banks loaded from the
    literal one's state dict)."""
    literal = tiny_darts(dtype=torch.float64, edge_layout='per_edge', primitives=primitives, nodes=3, **kwargs)
    use_literal_sum(literal)
    batched = tiny_darts(dtype=torch.float64, edge_layout='batched', primitives=primitives, nodes=3, **kwargs)
    batched.load_state_dict(literal.state_dict())
    for model in (literal, batched):
        model.data_preprocessor = Prepared()
        model.memory_format = 'contiguous'  # as on a GPU: Eq. 8 as one twin pass in the batched one
    return literal, batched


def generic_candidates(model):
    return {model.architecture.backbone.primitives[o] for cell in model.modules() if isinstance(cell, SearchCell)
            for wave in cell._plan().waves for o in wave.generic}


@pytest.mark.parametrize('frozen', [False, True], ids=['tracked', 'frozen_stats'])
@pytest.mark.parametrize('primitives', SPACES, ids=SPACE_IDS)
def test_new_ops_in_the_waves_equal_the_literal_sum(primitives, frozen):
    literal, batched = literal_and_batched(primitives)
    data = batch(dtype=torch.float64)
    loss, grads = loss_and_gradients(literal, data, frozen)
    loss_b, grads_b = loss_and_gradients(batched, data, frozen)
    assert all(cell._plans for cell in batched.architecture.backbone.cells)
    assert generic_candidates(batched) == {p for p in primitives if p in ('test_conv_7x1_1x7', 'test_gain_norm_conv')}
    torch.testing.assert_close(loss_b, loss, rtol=1e-12, atol=1e-12)
    expected = in_layout_of(batched, dict(zip([n for n, _ in literal.named_parameters()], grads)))
    got = dict(zip([n for n, _ in batched.named_parameters()], grads_b))
    assert expected.keys() == got.keys()
    for name, g in expected.items():
        torch.testing.assert_close(got[name], g, rtol=1e-9, atol=1e-12, msg=name)
    expected, got = in_layout_of(batched, dict(literal.named_buffers())), dict(batched.named_buffers())
    for name, b in expected.items():  # running statistics and counts, the vmapped module's buffer too
        torch.testing.assert_close(got[name], b, rtol=1e-12, atol=1e-12, msg=name)


@pytest.mark.parametrize('unroll,hvp', [(False, 'finite_difference'), (True, 'finite_difference'),
                                        (True, 'exact')], ids=['first_order', 'second_order', 'exact_hvp'])
@pytest.mark.parametrize('primitives', SPACES, ids=SPACE_IDS)
def test_search_steps_with_new_ops_equal_the_literal_sum(primitives, unroll, hvp):
    """Two search steps (virtual step, Eq. 8 as one twin pass or the double backward, weight step): the same
    weights, α, optimizer state and running statistics."""
    models = literal_and_batched(primitives, unroll=unroll)
    wrappers = [optim_wrappers(m) for m in models]
    twin_passes = []
    for step in range(2):
        data = dict(train=batch(dtype=torch.float64, seed=2 * step), arch=batch(dtype=torch.float64, seed=2 * step + 1))
        for model, wrapper in zip(models, wrappers):
            model.hvp = hvp
            with patch.object(second_order, 'twin_losses', side_effect=second_order.twin_losses) as spy:
                model.train_step(data, wrapper)
            twin_passes.append(spy.call_count)
    expected, got = in_layout_of(models[1], models[0].state_dict()), models[1].state_dict()
    assert expected.keys() == got.keys()
    for name, a in expected.items():
        torch.testing.assert_close(got[name], a, rtol=1e-9, atol=1e-12, msg=name)
    assert twin_passes == ([0, 1] * 2 if unroll and hvp == 'finite_difference' else [0, 0] * 2)


@pytest.mark.parametrize('unroll', [True, False], ids=['second_order', 'first_order'])
def test_the_arch_step_leaves_a_new_ops_running_state_as_it_found_it(unroll):
    """Gain's shift, which its forward updates, left by the α step's passes as BN's statistics are, on both
    layouts (that the passes read it as it was at the step's start: the search steps above, the twin pass against
    two passes)."""
    for model in literal_and_batched(SPACES[1], unroll=unroll):
        before = {name: b.clone() for name, b in model.named_buffers()}
        model.arch_gradients(batch(dtype=torch.float64, seed=1), batch(dtype=torch.float64, seed=2),
                             optim_wrappers(model)['architecture'].optimizer)
        assert any('.shift' in name for name in before)
        for name, b in model.named_buffers():
            assert torch.equal(b, before[name]), name


@pytest.mark.parametrize('primitives', SPACES, ids=SPACE_IDS)
def test_new_ops_in_the_twin_pass_equal_two_passes(primitives):
    assert_twin_pass_equals_two_passes(batched_model(primitives=primitives, nodes=3, layers=3),
                                       batch(dtype=torch.float64))


@pytest.mark.parametrize('unroll,hvp', [(True, 'finite_difference'), (False, 'finite_difference')],
                         ids=['second_order', 'first_order'])
def test_new_ops_in_captured_passes_equal_eager(unroll, hvp):
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    model = tiny_darts(unroll=unroll, dtype=torch.float64, edge_layout='batched', nodes=3, primitives=SPACES[1])
    model.memory_format = 'contiguous'
    eager, captured = twin_searches(unroll, hvp, capturer=capturer, model=model, steps=3)
    assert_same_state(eager, captured)
    assert capturer.captures == 2 and capturer.all_captured()


class RunningShift(nn.Module):
    """x minus a running mean of x per channel, which its forward updates in training (run under vmap)."""

    def __init__(self, channels, start):
        super().__init__()
        self.register_buffer('mean', torch.full((channels, ), start, dtype=torch.float64))

    def forward(self, x):
        if self.training:
            self.mean.mul_(0.9).add_(0.1 * x.detach().mean((0, 2, 3)))
        return x - self.mean.view(1, -1, 1, 1)


def test_a_vmapped_module_writes_back_the_buffers_its_forward_updates():
    """Each edge's module on its own source channels, against the column run once under vmap: the same outputs
    and, in each edge's module, the same updated buffers."""
    torch.manual_seed(0)
    column = [nn.Sequential(RunningShift(4, 0.1 * k), nn.Conv2d(4, 4, 3, 1, 1)).double() for k in range(3)]
    expected = copy.deepcopy(column)
    x = torch.randn(2, 3 * 4, 5, 5, dtype=torch.float64)
    generic = GenericColumn(0, column, None)

    def weight(group):
        attr, modules = generic.weight_groups[group]
        return torch.cat([getattr(m, attr) for m in modules])

    y = generic(x, weight, None, 1)
    torch.testing.assert_close(y, torch.cat([m(s) for m, s in zip(expected, x.split(4, 1))], 1), rtol=1e-12,
                               atol=1e-12)
    for k, (m, e) in enumerate(zip(column, expected)):
        torch.testing.assert_close(m[0].mean, e[0].mean, rtol=1e-12, atol=1e-12, msg=f'edge {k}')
        assert not torch.equal(m[0].mean, torch.full((4, ), 0.1 * k, dtype=torch.float64))  # it moved


def test_generic_calls_do_not_grow_with_the_edges():
    """The point of batching a generic op: its operator calls per wave do not depend on how many edges the wave
    has (2 or 4 nodes: 5 or 14 edges a cell)."""
    added = []
    for nodes in (2, 4):
        counts = []
        for primitives in (NEW_OPS[:-1], NEW_OPS):
            model = tiny_darts(dtype=torch.float64, edge_layout='batched', primitives=primitives, nodes=nodes)
            model.loss_and_log(batch(dtype=torch.float64))
            counts.append(count_aten_calls(lambda: model.loss_and_log(batch(dtype=torch.float64))[0].backward())[0])
        added.append((counts[1] - counts[0]) / (3 * nodes))  # per wave: 3 cells of `nodes` waves
    assert added[1] <= added[0] * 1.05, added


def test_new_ops_retrain_draw_and_count():
    first = [('test_conv_7x1_1x7', 0), ('test_sep_conv_7x7', 1)]
    genotype = Genotype(normal=first + [('skip_connect', 0), ('test_conv_7x1_1x7', 2)], normal_concat=[2, 3],
                        reduce=first + [('max_pool_3x3', 1), ('test_sep_conv_7x7', 2)], reduce_concat=[2, 3])
    net = DartsNet(genotype=genotype, base_channels=4, num_layers=3)
    out = net(torch.randn(2, 3, 16, 16))
    out[-1].sum().backward()
    counted = count_model(copy.deepcopy(net), (3, 16, 16))
    skips = [('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 0), ('skip_connect', 2)]
    without = DartsNet(genotype=dataclasses.replace(genotype, normal=skips), base_channels=4, num_layers=3)
    assert counted['params'] > sum(p.numel() for p in without.parameters()) and counted['flops'] > 0
    fig, drawn = draw_cell(genotype, 'normal')
    assert {'test_conv_7x1_1x7', 'test_sep_conv_7x7'} <= {label for _, _, label in drawn}
