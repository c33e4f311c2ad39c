"""The batched edges (all edges leaving the same states at once) against the per-edge mixed ops, in float64:
outputs, every gradient (weights, α, inputs; the double backward of the exact HVP too), running statistics."""
import copy
from unittest.mock import patch

import pytest
import torch
import torch.nn as nn
from helpers import SMOOTH_PRIMITIVES, batch, optim_wrappers, tiny_darts
from search_helpers import Prepared, in_layout_of, loss_and_gradients

from mmdarts.models.algorithms import second_order
from mmdarts.models.algorithms.running_stats import frozen_running_stats
from mmdarts.models.functional import depthwise_pointwise
from mmdarts.models.functional.modes import memory_layout, twice_differentiable
from mmdarts.models.ops import DARTS_PRIMITIVES
from mmdarts.models.regularizers.size_aware_decay import op_size_coefficients
from mmdarts.models.search import SearchCell
from mmdarts.models.search.batched_edges import edge_waves
from mmdarts.models.search.edge_banks import bank_views
from mmdarts.registry import CANDIDATE_OPS
from mmdarts.structures import cell_edges
from mmdarts.testing import count_aten_calls
from mmdarts.testing.straightforward import use_literal_sum


@CANDIDATE_OPS.register_module('test_batched_conv_bias')
def conv_with_bias(channels, stride, affine, act_cfg):
    """A candidate the waves do not batch (a conv with a bias): it runs per edge inside the wave."""
    return nn.Conv2d(channels, channels, 3, stride, 1, bias=True)


def twins(stored='banks', dtype=torch.float64, **kwargs):
    """The same tiny search model twice: the literal sum Σ_o w_o·o(x) of every mixed op (``MixedOp.reference``, the
    oracle), and the cells' waves, stored in banks (the batched plan, loaded from the oracle's state dict) or per
    edge (``stored='per_edge'``: the per-edge plan)."""
    literal = tiny_darts(dtype=dtype, edge_layout='per_edge', **kwargs)
    if stored == 'banks':
        waves = tiny_darts(dtype=dtype, edge_layout='batched', **kwargs)
        waves.load_state_dict(literal.state_dict())
    else:
        waves = copy.deepcopy(literal)
    use_literal_sum(literal)
    return literal, waves


def uses_batched_cells(model) -> bool:
    return all(cell._plans for cell in model.modules() if isinstance(cell, SearchCell))


def assert_twins_agree(literal, batched, frozen=False, images=None, tol=1e-12, batched_path=True):
    data = batch(dtype=torch.float64)
    device = next(literal.parameters()).device
    data = dict(inputs=data['inputs'].to(device), data_samples=[s.to(device) for s in data['data_samples']])
    if images is not None:
        data['inputs'] = images(data['inputs'])
    loss, grads = loss_and_gradients(literal, data, frozen)
    loss_b, grads_b = loss_and_gradients(batched, data, frozen)
    assert uses_batched_cells(batched) or not batched_path
    torch.testing.assert_close(loss_b, loss, rtol=tol, atol=tol)
    expected = in_layout_of(batched, dict(zip([n for n, _ in literal.named_parameters()], grads)))
    got = dict(zip([n for n, _ in batched.named_parameters()], grads_b))
    assert expected.keys() == got.keys()
    for name, g in expected.items():
        torch.testing.assert_close(got[name], g, rtol=1e-9, atol=tol, msg=name)
    expected = in_layout_of(batched, dict(literal.named_buffers()))
    got = dict(batched.named_buffers())
    assert expected.keys() == got.keys()
    for name, b in expected.items():
        torch.testing.assert_close(got[name], b, rtol=tol, atol=tol, msg=name)


@pytest.mark.parametrize('stored', ['banks', 'per_edge'], ids=['banks', 'per_edge_plan'])
@pytest.mark.parametrize('frozen', [False, True], ids=['tracked', 'frozen_stats'])
@pytest.mark.parametrize('nodes,layers', [(2, 3), (4, 4)])
def test_waves_equal_the_literal_sum(nodes, layers, frozen, stored):
    """The paper's 8 candidates, normal and reduction cells (stride-2 waves, the factorized skip), a cell after a
    reduction; running statistics and batch counts updated alike, or left alone alike. Stored in banks (the GPU's
    plan) and per edge (on CPU the plan of :attr:`EdgeWave.split`: each chain its own part, dilations subsampled)."""
    assert_twins_agree(*twins(stored, primitives=DARTS_PRIMITIVES, nodes=nodes, layers=layers), frozen)


@pytest.mark.parametrize('primitives', [
    SMOOTH_PRIMITIVES,  # a SepConv and a DilConv: stage 2 without a dilated conv beside it
    ('none', 'max_pool_3x3', 'avg_pool_3x3'),  # pools only: no activation, no conv
    ('skip_connect', 'dil_conv_5x5'),  # dilated convs only: no stage 2
    ('sep_conv_5x5', 'test_batched_conv_bias', 'none'),  # a candidate computed per edge within the wave
    ('none', ),  # nothing to compute
])
@pytest.mark.parametrize('stored', ['banks', 'per_edge'], ids=['banks', 'per_edge_plan'])
def test_waves_equal_the_literal_sum_for_other_search_spaces(primitives, stored):
    literal, batched = twins(stored, primitives=primitives, nodes=3, layers=3)
    if primitives == ('none', ):  # nothing reaches the loss from the cells: compare the cells' output
        x = torch.randn(2, 8, 8, 8, dtype=torch.float64)
        cell_a, cell_b = literal.architecture.backbone.cells[0], batched.architecture.backbone.cells[0]
        weights = torch.ones(len(cell_edges(3)), 1, dtype=torch.float64)
        torch.testing.assert_close(cell_b(x, x, weights), cell_a(x, x, weights))
        return
    assert_twins_agree(literal, batched)


@pytest.mark.parametrize('stored', ['banks', 'per_edge'], ids=['banks', 'per_edge_plan'])
def test_waves_evaluate_as_the_literal_sum(stored):
    """After a few training forwards each edge's running statistics differ; evaluation normalises by them."""
    literal, batched = twins(stored, primitives=DARTS_PRIMITIVES, nodes=3)
    losses = []
    for model in (literal, batched):
        for seed in range(3):
            model.loss_and_log(batch(dtype=torch.float64, seed=seed))
        model.eval()
        with torch.no_grad():
            losses.append(model.loss_and_log(batch(dtype=torch.float64, seed=9))[0])
    assert uses_batched_cells(batched)
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('frozen', [False, True], ids=['tracked', 'frozen_stats'])
@pytest.mark.parametrize('kwargs,stored', [
    (dict(), 'banks'), (dict(primitives=DARTS_PRIMITIVES, nodes=3, auxiliary_skip=True), 'banks'),
    (dict(), 'per_edge'), (dict(primitives=DARTS_PRIMITIVES, nodes=4, layers=4), 'per_edge'),
    (dict(primitives=DARTS_PRIMITIVES, nodes=3, auxiliary_skip=True), 'per_edge')],
                         ids=['banks-smooth', 'banks-two_identities', 'per_edge_plan-smooth',
                              'per_edge_plan-paper_4_nodes', 'per_edge_plan-two_identities'])
def test_waves_keep_channels_last_inputs_so(kwargs, frozen, stored):
    """On a channels-last input (the CPU's layout) every wave computes channels-last (where the CPU's convs run
    fastest), with the same numbers: the reduce skip, the pools, one or two identities (DARTS-'s auxiliary skip)."""
    literal, waves = twins(stored, **kwargs)
    assert_twins_agree(literal, waves, frozen, images=lambda x: x.contiguous(memory_format=torch.channels_last))
    layouts = []
    original = depthwise_pointwise.DepthwisesPointwise.forward

    def spy(ctx, x, *args):
        layouts.append(memory_layout(x))
        return original(ctx, x, *args)

    data = batch(dtype=torch.float64)
    with patch.object(depthwise_pointwise.DepthwisesPointwise, 'forward', staticmethod(spy)):
        waves.loss_and_log(dict(data, inputs=data['inputs'].contiguous(memory_format=torch.channels_last)))
    assert layouts and set(layouts) == {torch.channels_last}


@pytest.mark.parametrize('stored', ['banks', 'per_edge'], ids=['banks', 'per_edge_plan'])
def test_waves_double_backward_equals_the_literal_sum(stored):
    """The exact HVP differentiates the weight gradient again: ∇α ⟨∇w L, v⟩ agrees (v the same in both layouts)."""
    models = twins(stored, primitives=DARTS_PRIMITIVES, nodes=3)
    gen = torch.Generator().manual_seed(1)
    vector = {n: torch.randn(p.shape, generator=gen, dtype=p.dtype) for n, p in models[0].named_parameters()}
    results = []
    for model in models:
        named = [(n, p) for n, p in model.named_parameters() if not n.startswith('mutator')]
        v = in_layout_of(model, vector)
        with frozen_running_stats(model), twice_differentiable():
            loss, _ = model.loss_and_log(batch(dtype=torch.float64))
        grads = torch.autograd.grad(loss, [p for _, p in named], create_graph=True)
        dot = sum((g * v[n]).sum() for (n, _), g in zip(named, grads))
        results.append(torch.autograd.grad(dot, list(model.mutator.parameters())))
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('hvp,stored', [('finite_difference', 'banks'), ('exact', 'banks'),
                                        ('finite_difference', 'per_edge')],  # the per-edge plan's exact HVP: above
                         ids=['finite_difference-banks', 'exact-banks', 'finite_difference-per_edge_plan'])
def test_second_order_search_on_waves_equals_the_literal_sum(hvp, stored):
    """Two second-order search steps (virtual step, the second's with momentum buffers, ±ε or double backward,
    weight step) end in the same weights, α, optimizer state and running statistics as on the literal sum: the
    batched plan as on a GPU (banks, contiguous, Eq. 8 as one twin pass) and the per-edge plan as on CPU
    (channels-last, two passes)."""
    models = twins(stored, unroll=True, nodes=3)
    for model in models:
        model.data_preprocessor = Prepared()
        model.memory_format = 'contiguous' if stored == 'banks' else 'channels_last'
    wrappers = [optim_wrappers(m) for m in models]
    twin_passes = []
    for step in range(2):
        data = dict(train=batch(dtype=torch.float64, seed=2 * step), arch=batch(dtype=torch.float64, seed=2 * step + 1))
        logs = []
        for model, wrapper in zip(models, wrappers):
            model.hvp = hvp
            with patch.object(second_order, 'twin_losses', side_effect=second_order.twin_losses) as spy:
                logs.append(model.train_step(data, wrapper))
            twin_passes.append(spy.call_count)
        for key in logs[0]:
            torch.testing.assert_close(logs[1][key], logs[0][key], rtol=1e-10, atol=1e-12, msg=key)
    expected, got = in_layout_of(models[1], models[0].state_dict()), models[1].state_dict()
    assert expected.keys() == got.keys()
    for name, a in expected.items():
        torch.testing.assert_close(got[name], a, rtol=1e-9, atol=1e-12, msg=name)
    assert uses_batched_cells(models[1])
    assert twin_passes == ([0, 1] * 2 if hvp == 'finite_difference' and stored == 'banks' else [0, 0] * 2)


def test_batched_cells_make_fewer_operator_calls():
    """The point of batching (the CPU-side proxy of GPU launches): a training forward+backward of a 4-node
    supernet makes well under half the ATen calls."""
    counts = []
    for model in twins(primitives=DARTS_PRIMITIVES, nodes=4):
        model.loss_and_log(batch(dtype=torch.float64))  # builds the batched plan, gathers constants
        counts.append(count_aten_calls(lambda: model.loss_and_log(batch(dtype=torch.float64))[0].backward())[0])
    assert counts[1] < 0.5 * counts[0], counts


def test_where_the_cells_run_the_literal_sum():
    literal, batched = twins()
    cell = batched.architecture.backbone.cells[0]
    assert cell.batched_plan() is not None
    cell.eval()  # evaluation too: each edge's own running statistics normalise its (repeated) pools
    assert cell.batched_plan() is not None
    cell.train()
    cell.mixed_ops[0].ops[1][1].momentum = None  # a cumulative average reads its own count: the literal sum
    assert cell.batched_plan() is None
    auto = SearchCell(2, 8, 8, 4, False, False, DARTS_PRIMITIVES).train()
    assert auto.edge_layout == 'auto' and auto.batched_plan().per_edge  # CPU: stored per edge
    with pytest.raises(ValueError, match="edge_layout must be one of .*got 'grouped'"):
        SearchCell(2, 8, 8, 4, False, False, DARTS_PRIMITIVES, edge_layout='grouped')


def test_the_literal_sum_names_the_reason_of_the_plan_the_cell_tried():
    """A cell stored per edge tries the per-edge plan, where candidates unlike between edges are no obstacle (each
    edge is its own wave): its reason is its BNs, not the batched plan's."""
    primitives = ('none', 'avg_pool_3x3', 'test_batched_conv_bias')
    cell = SearchCell(2, 8, 8, 4, False, False, primitives, edge_layout='per_edge').train()
    cell.mixed_ops[1].ops[2].padding = (2, 2)  # one edge's conv unlike its batched wave's others
    cell.mixed_ops[1].ops[2].dilation = (2, 2)
    assert cell.batched_plan() is not None
    assert cell._candidates_of(cell._plan(), 'unbatchable') == ['test_batched_conv_bias']
    next(m for m in cell.mixed_ops[0].modules() if isinstance(m, nn.BatchNorm2d)).momentum = None
    assert cell.batched_plan() is None
    assert cell.describe() == 'the literal sum per edge (its BNs differ in eps, mode or momentum)'


def test_waves_cover_every_edge_once_sources_first():
    for nodes in (1, 2, 4, 5):
        waves = edge_waves(nodes)
        edges = cell_edges(nodes)
        assert sorted(k for _, wave in waves for k in wave) == list(range(len(edges)))
        for t, (sources, wave) in enumerate(waves):
            assert all(edges[k][1] in sources for k in wave)
            assert all(edges[k][0] >= t for k in wave)  # a node's inputs all come before the wave that uses it
        assert [edges[k] for k in waves[0][1]] == [(i, j) for i in range(nodes) for j in (0, 1)]


def test_banks_hold_the_grouped_tensors_and_load_either_layout():
    """A batched model stores each group of conv weights and BN statistics as one tensor (a quarter as many weight
    tensors); either layout's state dict loads into the other, values kept; candidates keep their sizes."""
    per_edge, batched = twins(primitives=DARTS_PRIMITIVES, nodes=4)
    cell = batched.architecture.backbone.cells[0]
    assert cell.banks is not None and per_edge.architecture.backbone.cells[0].banks is None
    assert len(list(batched.parameters())) < 0.3 * len(list(per_edge.parameters()))
    # the only extra numbers: a separable 3x3 conv's second depthwise kernels, stored padded to 5x5 (merged)
    sep3 = DARTS_PRIMITIVES.index('sep_conv_3x3')
    padding = sum(mixed.ops[sep3][1][1].weight.numel() // 9 * (25 - 9)
                  for cell_ in per_edge.architecture.backbone.cells for mixed in cell_.mixed_ops)
    assert sum(p.numel() for p in batched.parameters()) == sum(p.numel() for p in per_edge.parameters()) + padding
    assert not any('mixed_ops' in n and 'weight' in n for n, _ in batched.named_parameters())
    back = tiny_darts(dtype=torch.float64, edge_layout='per_edge', primitives=DARTS_PRIMITIVES, nodes=4)
    back.load_state_dict(batched.state_dict())
    for (name, a), b in zip(per_edge.state_dict().items(), back.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)
    sizes = [mixed.sizes for mixed in cell.mixed_ops]
    assert sizes == [mixed.sizes for mixed in per_edge.architecture.backbone.cells[0].mixed_ops]
    assert sizes == [[sum(p.numel() for p in op.parameters()) for op in mixed.ops]
                     for mixed in per_edge.architecture.backbone.cells[0].mixed_ops]
    assert sizes[0][DARTS_PRIMITIVES.index('sep_conv_3x3')] == 2 * (4 * 9 + 4 * 4)
    supernets = [m.architecture.backbone for m in (per_edge, batched)]
    for kind, coefficients in op_size_coefficients(supernets[1], 1.0).items():  # SizeAwareDecay's λ
        torch.testing.assert_close(coefficients, op_size_coefficients(supernets[0], 1.0)[kind])
    assert cell.mixed_ops[0].ops[4][0][1].weight is None  # given as views of the banks to a per-edge forward
    views = bank_views(cell.banks, cell._edge_rows[0])
    assert views['ops.4.0.1.weight'].shape == views['ops.4.1.1.weight'].shape == (4, 1, 3, 3)  # cut out of 5x5
    bank = cell.banks.w0_dw2_4_5  # edge 0's 3x3 kernels first, padded
    assert torch.equal(views['ops.4.1.1.weight'], bank[:4, :, 1:4, 1:4])
    assert views['ops.4.1.1.weight'].untyped_storage().data_ptr() == bank.untyped_storage().data_ptr()


def test_checkpoints_with_separate_depthwise_banks_still_load():
    """Before the second-stage depthwise kernels were merged, each candidate had its own bank (``w0_dw2_4`` 3x3,
    ``w0_dw2_5`` 5x5): such a state dict loads into either storage, values kept."""
    per_edge, batched = twins(primitives=DARTS_PRIMITIVES, nodes=3)
    old = {}
    for key, value in batched.state_dict().items():
        if key.endswith('_dw2_4_5'):
            sep3, sep5 = value.chunk(2)
            old[key[:-len('_4_5')] + '_4'], old[key[:-len('_4_5')] + '_5'] = sep3[:, :, 1:4, 1:4].clone(), sep5
        else:
            old[key] = value
    assert len(old) > len(batched.state_dict())
    for layout in ('batched', 'per_edge'):
        model = tiny_darts(dtype=torch.float64, edge_layout=layout, primitives=DARTS_PRIMITIVES, nodes=3)
        model.load_state_dict(old)
        expected = per_edge.state_dict() if layout == 'per_edge' else batched.state_dict()
        for name, value in model.state_dict().items():
            torch.testing.assert_close(value, expected[name], rtol=0, atol=0, msg=name)


def test_merged_depthwise_kernels_ignore_what_their_padding_holds():
    """A separable 3x3 and 5x5 conv's second depthwise convs run as one 5x5 conv, the 3x3 kernels stored padded:
    whatever the padding holds changes no number, and it receives no gradient."""
    literal, batched = twins(primitives=DARTS_PRIMITIVES, nodes=2)
    banks = batched.architecture.backbone.cells[0].banks
    merged = [name for name, _ in banks.named_parameters() if name.endswith('_dw2_4_5')]
    assert merged and not any(name.endswith('_dw2_4') for name, _ in banks.named_parameters())
    bank = getattr(banks, merged[0])
    padded = torch.ones_like(bank, dtype=torch.bool)
    padded[:, :, 1:4, 1:4] = False
    padded[bank.shape[0] // 2:] = False  # the 5x5 kernels' rows
    with torch.no_grad():
        bank[padded] = torch.randn(int(padded.sum()), dtype=bank.dtype)
    data = batch(dtype=torch.float64)
    losses = [model.loss_and_log(data)[0] for model in (literal, batched)]
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-10, atol=0)
    losses[1].backward()
    assert bank.grad[padded].abs().max() == 0 and bank.grad[~padded].abs().max() > 0


def test_converting_the_bns_of_a_banked_cell_is_refused_at_its_forward():
    """SyncBatchNorm conversion replaces the BNs the batched plan (and its banks) compute with: a clear error."""
    _, batched = twins()
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(batched)
    with pytest.raises(RuntimeError, match="replaced .* edge_layout='per_edge'"):
        converted.loss_and_log(batch(dtype=torch.float64))


def test_cells_stored_per_edge_run_sync_batch_norms_in_their_own_forward():
    """SyncBatchNorm synchronises its statistics in its forward, which the waves do not run: the literal sum does
    (its forward needs a GPU process group; here the choice is checked)."""
    _, per_edge = twins('per_edge')
    cell = nn.SyncBatchNorm.convert_sync_batchnorm(per_edge).architecture.backbone.cells[0]
    assert cell.batched_plan() is None
    assert cell.describe() == 'the literal sum per edge (SyncBatchNorm: each BN synchronises in its own forward)'


def test_banked_cells_run_per_edge_where_needed():
    """The reference sum (the straightforward baseline) runs the per-edge modules on views of the banks."""
    literal, batched = twins(nodes=3)
    for model in (literal, batched):
        for m in model.modules():
            if isinstance(m, SearchCell):
                for op in m.mixed_ops:
                    op.reference = True
    assert_twins_agree(literal, batched, batched_path=False)


@pytest.mark.cuda
def test_waves_equal_the_literal_sum_on_cuda():
    literal, batched = twins(primitives=DARTS_PRIMITIVES, nodes=4, layers=4)
    assert_twins_agree(literal.cuda(), batched.cuda(), tol=1e-10)
    auto = SearchCell(2, 8, 8, 4, False, False, DARTS_PRIMITIVES).cuda().train()
    x = torch.randn(2, 4, 8, 8, device='cuda')
    assert auto.banks is not None and not auto.batched_plan().per_edge  # 'auto': batched on CUDA
    assert auto(x, x, torch.ones(5, 8, device='cuda')).shape == (2, 8, 8, 8)


def test_waves_under_autocast_follow_the_literal_sum():
    """bfloat16 autocast on CPU: the recomputing grouped convs cast as a conv would (their backward outside
    autocast), the BNs stay float32. The waves' loss and α gradient are about as far from float64's as the literal
    sum's under the same autocast (10-20 % for the α gradient of this tiny model, rounded at other points: within
    1.7x of each other over ten seeds; two such results differ by about twice that), and bfloat16 did run."""
    models = twins()

    def loss_and_alpha_gradient(model, dtype, autocast):
        model = copy.deepcopy(model).to(dtype)
        data = batch(dtype=dtype)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            loss, _ = model.loss_and_log(data)
        grads = torch.autograd.grad(loss, list(model.mutator.parameters()))
        return loss.double(), torch.cat([g.double().flatten() for g in grads])

    true_loss, truth = loss_and_alpha_gradient(models[0], torch.float64, False)
    errors = []
    for model in models:
        loss, grad = loss_and_alpha_gradient(model, torch.float32, True)
        errors.append(((loss - true_loss).abs() / true_loss.abs(), (grad - truth).norm() / truth.norm()))
    (literal_loss, literal_grad), (waves_loss, waves_grad) = errors
    assert 1e-3 < waves_grad <= 2 * literal_grad and waves_loss <= 2 * literal_loss + 1e-4, errors
