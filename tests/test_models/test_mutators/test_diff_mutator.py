import pytest
import torch

from mmdarts.models import DartsSupernet, DiffMutator
from mmdarts.structures import derive_cell


def test_alphas_are_parameters_of_the_search_space():
    mutator = DiffMutator()
    mutator.prepare_from_supernet(DartsSupernet(base_channels=4, num_layers=3, num_nodes=3))
    params = dict(mutator.named_parameters())
    assert set(params) == {'alphas.normal', 'alphas.reduce'}
    assert all(p.shape == (9, 8) and p.requires_grad for p in params.values())
    assert 0 < params['alphas.normal'].std() < 3e-3  # 1e-3 * randn


def test_weights_follow_alpha_without_caching():
    mutator = DiffMutator()
    mutator.prepare_from_supernet(DartsSupernet(base_channels=4, num_layers=3, num_nodes=2))
    w1 = mutator.arch_weights()
    torch.testing.assert_close(w1['normal'].sum(-1), torch.ones(5))
    with torch.no_grad():
        mutator.alphas['normal'][2, 3] += 5
    w2 = mutator.arch_weights()
    assert w2['normal'][2, 3] > 0.9 and w1['normal'][2, 3] < 0.2
    assert not mutator.arch_weights(detach=True)['normal'].requires_grad


def test_genotype_is_the_rule_on_softmax_alpha():
    mutator = DiffMutator()
    mutator.prepare_from_supernet(DartsSupernet(base_channels=4, num_layers=3, num_nodes=2))
    with torch.no_grad():
        for a in mutator.parameters():
            a.normal_()
    genotype = mutator.derive_genotype()
    w = mutator.arch_weights(detach=True)
    assert genotype.normal == derive_cell(w['normal'], mutator.primitives, 2)
    assert genotype.reduce == derive_cell(w['reduce'], mutator.primitives, 2)
    assert genotype.normal_concat == genotype.reduce_concat == [2, 3]


def test_not_a_supernet_is_refused():
    with pytest.raises(TypeError, match='not a DARTS supernet'):
        DiffMutator().prepare_from_supernet(torch.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match='prepare_from_supernet'):
        DiffMutator().arch_weights()
