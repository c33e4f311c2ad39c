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


def test_hard_gumbel_weights_are_one_hot_with_softmax_gradients():
    from mmdarts.models.mutators import hard_gumbel_weights
    alpha = torch.tensor([[0.1, 0.5, -0.2], [1.0, 0.0, 0.3]], requires_grad=True)
    gumbel = torch.tensor([[0.3, -0.1, 0.9], [0.0, 2.0, 0.0]])
    weights = hard_gumbel_weights(alpha, 0.5, gumbel)
    # argmax of (α + G): row 0: [0.4, 0.4 ... ] -> 0.7 at op 2; row 1: [1.0, 2.0, 0.3] -> op 1
    assert torch.equal(weights.detach(), torch.tensor([[0., 0., 1.], [0., 1., 0.]]))
    c = torch.tensor([[1., 2., 3.], [4., 5., 6.]])
    (grad, ) = torch.autograd.grad((weights * c).sum(), alpha)
    (expected, ) = torch.autograd.grad((torch.softmax((alpha + gumbel) / 0.5, -1) * c).sum(), alpha)
    torch.testing.assert_close(grad, expected)


def test_gumbel_mutator_samples_in_training_and_picks_argmax_in_eval():
    mutator = DiffMutator(weighting='gumbel', tau=1.0)
    mutator.prepare_from_supernet(DartsSupernet(base_channels=4, num_layers=3, num_nodes=2))
    with torch.no_grad():
        mutator.alphas['normal'].copy_(torch.randn(5, 8))
    mutator.train()
    sample = mutator.arch_weights()['normal']
    assert torch.equal(sample.detach().sum(-1), torch.ones(5)) and set(sample.detach().unique().tolist()) <= {0., 1.}
    mutator.eval()
    picked = mutator.arch_weights()['normal']
    assert torch.equal(picked.argmax(-1), mutator.alphas['normal'].argmax(-1))
    softmax = DiffMutator()
    softmax.prepare_from_supernet(DartsSupernet(base_channels=4, num_layers=3, num_nodes=2))
    softmax.load_state_dict(mutator.state_dict())
    assert softmax.derive_genotype() == mutator.derive_genotype()  # the genotype comes from softmax(α) in both


def test_gumbel_second_order_uses_one_sample_per_step():
    from helpers import optim_wrappers, raw_batch, tiny_architecture

    from mmdarts.models import Darts
    model = Darts(architecture=tiny_architecture(), mutator=dict(type='DiffMutator', weighting='gumbel', tau=1.),
                  unroll=True)
    with model.mutator.fixed_sample():
        first, second = model.mutator.arch_weights(), model.mutator.arch_weights()
    assert all(torch.equal(first[k], second[k]) for k in first)
    before = [a.clone() for a in model.mutator.parameters()]
    model.train_step(dict(train=raw_batch(seed=1), arch=raw_batch(seed=2)), optim_wrappers(model))
    after = list(model.mutator.parameters())
    assert all(torch.isfinite(a).all() for a in after) and any(not torch.equal(a, b) for a, b in zip(before, after))
    with pytest.raises(ValueError, match='weighting must be one of'):
        DiffMutator(weighting='sparsemax')
