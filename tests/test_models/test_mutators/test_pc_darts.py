import torch
import torch.nn as nn
from helpers import optim_wrappers, raw_batch, tiny_architecture
from mmengine.logging import MessageHub

from mmdarts.models import Darts, DartsSupernet, DiffMutator
from mmdarts.models.mutators import edge_normalized_weights
from mmdarts.models.search import MixedOp
from mmdarts.models.search.search_cell import channel_shuffle


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(8.).view(1, 8, 1, 1)
    assert channel_shuffle(x, 4).flatten().tolist() == [0., 2., 4., 6., 1., 3., 5., 7.]


def test_partial_channel_mix_by_hand():
    torch.manual_seed(0)
    for stride in (1, 2):
        op = MixedOp(8, stride, ['skip_connect', 'avg_pool_3x3'], dict(type='ReLU'), partial=4).train()
        x = torch.randn(2, 8, 6, 6)
        w = torch.tensor([0.3, 0.7])
        mixed = sum(wk * o(x[:, :2]) for wk, o in zip(w, op.ops))
        rest = x[:, 2:] if stride == 1 else nn.functional.max_pool2d(x[:, 2:], 2, 2)
        expected = channel_shuffle(torch.cat([mixed, rest], 1), 4)
        torch.testing.assert_close(op(x, w), expected)


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
