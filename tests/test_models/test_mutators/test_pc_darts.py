
import pytest
import torch
import torch.nn as nn
from helpers import batch, optim_wrappers, raw_batch, tiny_architecture
from mmengine.logging import MessageHub
from search_helpers import Prepared, in_layout_of

from mmdarts.models import Darts, DartsSupernet, DiffMutator
from mmdarts.models.mutators import edge_normalized_weights
from mmdarts.models.search import SearchCell
from mmdarts.models.search.partial_channels import channel_shuffle
from mmdarts.testing.straightforward import use_literal_sum


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(8.).view(1, 8, 1, 1)
    assert channel_shuffle(x, 4).flatten().tolist() == [0., 2., 4., 6., 1., 3., 5., 7.]


def pc_darts_by_hand(cell, s0, s1, weights, edge_weights, partial):
    """PC-DARTS Eq. 2 and 4 edge by edge: β_k·shuffle(cat(Σ_o w_o·o(x[:C/K]), bypass)), each node the sum over its
    edges; every candidate computed literally."""
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    for node in range(cell.num_nodes):
        total = 0
        for k in [k for k, (i, _) in enumerate(cell.edges) if i == node]:
            j = cell.edges[k][1]
            x = states[j]
            part = x.shape[1] // partial
            mixed = sum(w * op(x[:, :part]) for w, op in zip(weights[k], cell.mixed_ops[k].ops))
            rest = x[:, part:] if not (cell.reduction and j < 2) else nn.functional.max_pool2d(x[:, part:], 2, 2)
            total = total + edge_weights[k] * channel_shuffle(torch.cat([mixed, rest], 1), partial)
        states.append(total)
    return torch.cat(states[2:], 1)


@pytest.mark.parametrize('layout', ['per_edge', 'batched'])
@pytest.mark.parametrize('reduction', [False, True], ids=['normal', 'reduce'])
def test_partial_channel_cells_equal_pc_darts_by_hand(layout, reduction):
    """Both plans of the waves (the CPU's on edges stored per edge, the banked one) give PC-DARTS's cell, float64:
    the output, the gradients of the op weights, edge weights, inputs and every weight, and the BN statistics."""
    torch.manual_seed(0)
    primitives = ['none', 'skip_connect', 'max_pool_3x3', 'sep_conv_3x3', 'dil_conv_3x3']
    cell = SearchCell(3, 16, 16, 8, reduction, False, primitives, partial=4, edge_layout=layout).double().train()
    by_hand = SearchCell(3, 16, 16, 8, reduction, False, primitives, partial=4, edge_layout='per_edge')
    by_hand.double().train().load_state_dict(cell.state_dict())  # the per-edge modules hold their own weights
    s0, s1 = (torch.randn(2, 16, 8, 8, dtype=torch.float64, requires_grad=True) for _ in range(2))
    weights = torch.randn(len(cell.edges), len(primitives), dtype=torch.float64).softmax(-1).requires_grad_()
    edge_weights = torch.rand(len(cell.edges), dtype=torch.float64, requires_grad=True)
    out = cell(s0, s1, weights, edge_weights)
    assert cell.batched_plan().per_edge == (layout == 'per_edge')
    expected = pc_darts_by_hand(by_hand, s0, s1, weights, edge_weights, 4)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    probe = torch.randn_like(out)
    inputs = [weights, edge_weights, s0, s1]
    got = torch.autograd.grad((out * probe).sum(), inputs + list(cell.parameters()))
    want = torch.autograd.grad((expected * probe).sum(), inputs + list(by_hand.parameters()))
    for g, w in zip(got[:4], want[:4]):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)
    names = [n for n, _ in cell.named_parameters()]
    for name, g in in_layout_of(cell, dict(zip([n for n, _ in by_hand.named_parameters()], want[4:]))).items():
        torch.testing.assert_close(got[4 + names.index(name)], g, rtol=1e-10, atol=1e-12, msg=name)
    for name, b in in_layout_of(cell, dict(by_hand.named_buffers())).items():
        torch.testing.assert_close(dict(cell.named_buffers())[name], b, rtol=1e-12, atol=1e-12, msg=name)


def test_edge_normalization_is_a_softmax_per_node():
    beta = torch.tensor([0., 0., 1., 1., 1., 0., 0., 0., 0.])  # nodes with 2, 3 and 4 incoming edges
    w = edge_normalized_weights(beta, 3)
    torch.testing.assert_close(w[:2], torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(w[2:5], torch.full((3, ), 1 / 3))
    torch.testing.assert_close(w[5:], torch.full((4, ), 0.25))


def test_genotype_ranks_op_weight_times_edge_weight():
    supernet = DartsSupernet(base_channels=8, num_layers=3, num_nodes=2, partial_channels=4,
                             primitives=['none', 'skip_connect', 'sep_conv_3x3'])
    mutator = DiffMutator(edge_normalization=True)
    mutator.prepare_from_supernet(supernet)
    assert set(dict(mutator.named_parameters())) == {'alphas.normal', 'alphas.reduce', 'betas.normal',
                                                     'betas.reduce'}
    with torch.no_grad():
        for a in mutator.alphas.values():
            a.zero_()
            a[:, 2] = 1.  # sep_conv strongest everywhere, equally
        mutator.betas['normal'].copy_(torch.tensor([0., 0., 5., 0., 5.]))  # node 1: edges from 0 and 2
    assert mutator.derive_genotype().normal[2:] == [('sep_conv_3x3', 0), ('sep_conv_3x3', 2)]
    assert set(mutator.arch_weights()) == {'normal', 'reduce', 'normal_edges', 'reduce_edges'}
    (out, ) = _forward(supernet, mutator)
    assert out.shape == (2, 2 * 32, 2, 2)


def _forward(supernet, mutator):
    with supernet.arch_weights(mutator.arch_weights()):
        return supernet(torch.randn(2, 3, 8, 8))


def test_alpha_warmup_trains_weights_only():
    model = Darts(architecture=tiny_architecture(), arch_warmup_epochs=1)
    wrappers = optim_wrappers(model)
    hub = MessageHub.get_instance('mmdarts_test_warmup')
    data = dict(train=raw_batch(seed=1), arch=raw_batch(seed=2))
    try:
        for epoch, moves in ((0, False), (1, True)):
            hub.update_info('epoch', epoch)
            before = [a.clone() for a in model.mutator.parameters()]
            log = model.train_step(data, wrappers)
            moved = any(not torch.equal(a, b) for a, b in zip(before, model.mutator.parameters()))
            assert moved is moves and ('arch_loss' in log) is moves
    finally:
        hub.update_info('epoch', 0)  # other tests read the current hub's epoch


def test_pc_darts_search_on_waves_equals_the_literal_sum():
    """PC-DARTS second-order search steps (partial channels, edge normalisation; the first order's passes are among
    them) on both plans of the waves (per edge; batched, with Eq. 8 as one twin pass) end in the same weights, α, β,
    optimizer state and running statistics as on the literal sum, float64."""
    models = []
    for layout in ('per_edge', 'per_edge', 'batched'):  # the first computes the literal sum
        architecture = tiny_architecture(nodes=3, edge_layout=layout)
        architecture['backbone']['partial_channels'] = 2
        model = Darts(architecture=architecture, mutator=dict(type='DiffMutator', edge_normalization=True),
                      unroll=True).to(torch.float64).train()
        model.data_preprocessor = Prepared()
        models.append(model)
    use_literal_sum(models[0])
    with torch.no_grad():
        for p in models[0].mutator.parameters():
            p.normal_(0, 0.5)
    for model in models[1:]:
        model.load_state_dict(models[0].state_dict())
    wrappers = [optim_wrappers(m) for m in models]
    for step in range(2):
        data = dict(train=batch(dtype=torch.float64, seed=2 * step), arch=batch(dtype=torch.float64, seed=2 * step + 1))
        for model, wrapper in zip(models, wrappers):
            model.train_step(data, wrapper)
    for model, per_edge in zip(models[1:], (True, False)):
        assert all(cell.batched_plan().per_edge == per_edge for cell in model.architecture.backbone.cells)
        expected, got = in_layout_of(model, models[0].state_dict()), model.state_dict()
        assert expected.keys() == got.keys()
        for name, a in expected.items():
            torch.testing.assert_close(got[name], a, rtol=1e-9, atol=1e-12, msg=name)
