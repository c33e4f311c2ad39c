import json

import pytest
import torch

from mmdarts.models import DartsNet, DartsSupernet, DiffMutator, ZeroOneLoss
from mmdarts.structures import Genotype, derive_cell_threshold
from mmdarts.visualization import draw_cell, state_name

OPS = ['max_pool_3x3', 'skip_connect', 'sep_conv_3x3']


def test_fair_darts_rule_on_hand_made_sigmoid_weights():
    w = torch.tensor([
        [0.10, 0.90, 0.20],  # 0->node0: skip 0.90 >= 0.85
        [0.30, 0.20, 0.60],  # 1->node0: sep 0.60 < 0.85: dropped
        [0.05, 0.10, 0.20],  # 0->node1: best sep 0.20
        [0.86, 0.10, 0.30],  # 1->node1: max_pool 0.86 kept
        [0.10, 0.10, 0.10],  # 2->node1
    ])
    edges, degrees = derive_cell_threshold(w, OPS, 2, threshold=0.85, exclude=())
    assert edges == [('skip_connect', 0), ('max_pool_3x3', 1)] and degrees == [1, 1]
    low = torch.full((5, 3), 0.3)
    edges, degrees = derive_cell_threshold(low, OPS, 2, threshold=0.85, exclude=())
    assert degrees == [1, 1] and edges == [('max_pool_3x3', 0), ('max_pool_3x3', 0)]  # the strongest one stays


def test_zero_one_loss_by_hand():
    alphas = {'normal': torch.tensor([[0.]]), 'reduce': torch.tensor([[100.]])}
    # σ = [0.5, 1.0]: -10 * mean([0, 0.25]) = -1.25
    assert ZeroOneLoss(weight=10.)(alphas, epoch=0).item() == pytest.approx(-1.25)


def test_sigmoid_mutator_threshold_genotype_builds_and_round_trips(tmp_path):
    supernet = DartsSupernet(base_channels=4, num_layers=3, num_nodes=3, primitives=OPS)
    mutator = DiffMutator(weighting='sigmoid', selection='threshold', threshold=0.85, exclude=())
    mutator.prepare_from_supernet(supernet)
    with torch.no_grad():
        mutator.alphas['normal'].fill_(-5.)
        mutator.alphas['normal'][0, 1] = 5.  # only 0->node0 skip passes
        mutator.alphas['reduce'].fill_(5.)  # everything passes: two edges per node
    torch.testing.assert_close(mutator.arch_weights()['normal'], torch.sigmoid(mutator.alphas['normal']))
    genotype = mutator.derive_genotype()
    assert genotype.normal_in_degree == [1, 1, 1] and genotype.reduce_in_degree == [2, 2, 2]
    path = tmp_path / 'g.json'
    genotype.to_file(str(path))
    loaded = Genotype.from_file(str(path), primitives=OPS, num_nodes=3)
    assert loaded == genotype and json.loads(path.read_text())['normal_in_degree'] == [1, 1, 1]
    net = DartsNet(str(path), base_channels=4, num_layers=3).eval()
    (out, ) = net(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 3 * 16, 4, 4)
    _, drawn = draw_cell(loaded, 'normal')
    assert [d for d in drawn if d[2]] == [(state_name(j), str(n), op)
                                         for (op, j), n in zip(loaded.normal, loaded.edge_nodes('normal'))]


@pytest.mark.parametrize('degrees,message', [
    ([2, 2, 2], 'counts 6'),
    ([1, 0, 1], 'each 1 or 2'),
    ('1,1', 'edge counts per node'),
])
def test_bad_in_degree_is_named(tmp_path, degrees, message):
    data = dict(normal=[['skip_connect', 0], ['skip_connect', 1], ['skip_connect', 2]], normal_concat=[2, 3, 4],
                normal_in_degree=degrees, reduce=[['skip_connect', 0]] * 6, reduce_concat=[2, 3, 4])
    path = tmp_path / 'g.json'
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=f'normal(_in_degree)?: .*{message}'):
        Genotype.from_file(str(path))
