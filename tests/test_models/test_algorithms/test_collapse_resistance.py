"""DARTS- (an auxiliary skip β·skip(x) on every mixed op, β decaying from 1 to 0) and SDARTS-RS (the weight step's op
weights softmax(α) + δ, δ uniform in [-ε, ε]) against their definitions, written out here, in float64."""
import copy
import uuid

import pytest
import torch
import torch.nn as nn
from helpers import batch, optim_wrappers, tiny_darts
from mmengine.logging import MessageHub
from search_helpers import Prepared, assert_same_state, assert_twin_pass_equals_two_passes, in_layout_of, twin_searches

from mmdarts.models import Darts
from mmdarts.models.algorithms import darts as darts_module
from mmdarts.models.algorithms.captured_passes import PassCapturer
from mmdarts.models.algorithms.collapse_resistance import linear_schedule
from mmdarts.models.ops import FactorizedReduce
from mmdarts.testing import OpReplayPass
from mmdarts.testing.straightforward import use_literal_sum

PRIMITIVES = ('none', 'max_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'dil_conv_3x3')


@pytest.fixture
def hub():
    """A message hub of this test's own (the search's epoch and length, as the runner keeps them), the current one
    while the test runs and gone after it (so later tests do not read its epoch)."""
    name = f'collapse-{uuid.uuid4().hex}'
    yield MessageHub.get_instance(name)
    MessageHub._instance_dict.pop(name, None)


def at_epoch(hub, epoch, max_epochs=10):
    hub.update_info('epoch', epoch)
    hub.update_info('max_epochs', max_epochs)


def darts_minus(layout='per_edge', literal=False, **kwargs):
    model = tiny_darts(dtype=torch.float64, edge_layout=layout, primitives=PRIMITIVES, nodes=3, auxiliary_skip=True,
                       **kwargs)
    if literal:
        use_literal_sum(model)
    model.data_preprocessor = Prepared()
    model.memory_format = 'contiguous'
    return model


def literal_cell(cell, s0, s1, weights, beta):
    """A search cell as DARTS- defines it: each node sums, over its incoming edges, Σ_o w_o·o(x) + β·skip(x)."""
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    k = 0
    for _ in range(cell.num_nodes):
        node = 0
        for x in states:
            op = cell.mixed_ops[k]
            *candidates, skip = op.ops
            node = node + sum(w * o(x) for w, o in zip(weights[k], candidates)) + beta * skip(x)
            k += 1
        states.append(node)
    return torch.cat(states[2:], dim=1)


def literal_supernet(supernet, x, weights, beta):
    s0 = s1 = supernet.stem(x)
    for cell in supernet.cells:
        s0, s1 = s1, literal_cell(cell, s0, s1, weights['reduce' if cell.reduction else 'normal'], beta)
    return s1


# -- DARTS- ----------------------------------------------------------------------------------------------------
def test_auxiliary_skip_is_identity_or_its_own_factorized_reduce():
    supernet = darts_minus().supernet
    for cell in supernet.cells:
        for op, (_, j) in zip(cell.mixed_ops, cell.edges):
            skip, candidate = op.ops[-1], op.ops[PRIMITIVES.index('skip_connect')]
            if cell.reduction and j < 2:
                assert isinstance(skip, FactorizedReduce) and skip is not candidate
                assert skip.conv1.weight.data_ptr() != candidate.conv1.weight.data_ptr()
            else:
                assert isinstance(skip, nn.Identity)
    assert supernet.search_space['normal'] == (9, len(PRIMITIVES))  # no α for the skip


@pytest.mark.parametrize('beta', [1., 0.37, 0.])
def test_auxiliary_skip_forward_and_gradients_equal_the_definition(beta):
    model = darts_minus()
    supernet = model.supernet
    supernet.auxiliary_skip_weight.fill_(beta)
    x = batch(dtype=torch.float64)['inputs']
    alphas = list(model.mutator.parameters())
    weights = model.mutator.arch_weights()
    with supernet.arch_weights(weights):
        out = supernet(x)[-1]
    expected = literal_supernet(supernet, x, model.mutator.arch_weights(), beta)  # a graph of its own
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    params = alphas + list(supernet.parameters())
    grads = torch.autograd.grad(out.square().sum(), params)
    want = torch.autograd.grad(expected.square().sum(), params)
    for g, w in zip(grads, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


def test_auxiliary_skip_at_zero_is_the_plain_supernet():
    model = darts_minus()
    model.supernet.auxiliary_skip_weight.fill_(0.)
    plain = tiny_darts(dtype=torch.float64, edge_layout='per_edge', primitives=PRIMITIVES, nodes=3)
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    assert not missing and unexpected  # the skips' own weights and β
    data = batch(dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(data['inputs']), plain(data['inputs']), rtol=1e-12, atol=1e-12)


def test_beta_decays_linearly_from_one_to_zero(hub):
    model = darts_minus()
    wrappers = optim_wrappers(model)
    seen = []
    for epoch in (0, 3, 9):
        at_epoch(hub, epoch)
        model.train_step(dict(train=batch(dtype=torch.float64), arch=batch(dtype=torch.float64, seed=1)), wrappers)
        seen.append(model.supernet.auxiliary_skip_weight.item())
    assert seen == pytest.approx([1., 0.7, 0.1], abs=1e-15)
    assert linear_schedule(1., 0., 10, 10) == 0.


@pytest.mark.parametrize('unroll,hvp', [(False, 'finite_difference'), (True, 'finite_difference'),
                                        (True, 'exact')], ids=['first_order', 'second_order', 'exact_hvp'])
def test_darts_minus_steps_batched_equal_the_literal_sum(hub, unroll, hvp):
    """Three search steps over two epochs (β moves) in the batched waves (Eq. 8 as one twin pass) and the literal
    sum on the per-edge layout: the same weights, α, optimizer state, running statistics and β."""
    literal = darts_minus(literal=True, unroll=unroll)
    batched = darts_minus('batched', unroll=unroll)
    batched.load_state_dict(literal.state_dict())
    models = (literal, batched)
    wrappers = [optim_wrappers(m) for m in models]
    for step in range(3):
        at_epoch(hub, step // 2, 4)
        data = dict(train=batch(dtype=torch.float64, seed=2 * step), arch=batch(dtype=torch.float64, seed=2 * step + 1))
        for model, wrapper in zip(models, wrappers):
            model.hvp = hvp
            model.train_step(data, wrapper)
    expected, got = in_layout_of(batched, literal.state_dict()), batched.state_dict()
    for name, a in expected.items():
        torch.testing.assert_close(got[name], a, rtol=1e-9, atol=1e-12, msg=name)
    assert got['architecture.backbone.auxiliary_skip_weight'].item() == 0.75


def test_darts_minus_twin_pass_equals_two_passes():
    model = darts_minus('batched', layers=3)
    model.supernet.auxiliary_skip_weight.fill_(0.6)
    assert_twin_pass_equals_two_passes(model, batch(dtype=torch.float64))


def test_darts_minus_captured_passes_read_the_new_beta(hub):
    """β is filled in place at an epoch's start: the replayed passes read it, no new capture."""
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)

    def epochs(step, data, models, wrappers):
        at_epoch(hub, step // 2, 3)

    model = darts_minus('batched', unroll=True)
    eager, captured = twin_searches(True, 'finite_difference', capturer=capturer, model=model, steps=4, event=epochs)
    assert_same_state(eager, captured)
    assert captured.supernet.auxiliary_skip_weight.item() == pytest.approx(2 / 3)
    assert capturer.captures == 2 and capturer.all_captured()


# -- SDARTS-RS -------------------------------------------------------------------------------------------------
def smoothed_model(epsilons=(0.2, 0.2), unroll=False, **kwargs):
    model = tiny_darts(dtype=torch.float64, unroll=unroll, primitives=PRIMITIVES, nodes=3, **kwargs)
    model.random_smoothing = epsilons
    model.smoothing_epsilon = epsilons[0]
    model.data_preprocessor = Prepared()
    model.memory_format = 'contiguous'
    return model


class NoiseSpy:
    """Records the op weights each pass of the search sees: the mutator's and those handed to the supernet."""

    def __init__(self, model, monkeypatch):
        self.smoothed = []
        original = darts_module.randomly_smoothed

        def spy(weights, noise):
            out = original(weights, noise)
            self.smoothed.append(({k: w.detach().clone() for k, w in weights.items()},
                                  {k: w.detach().clone() for k, w in out.items()}))
            return out

        monkeypatch.setattr(darts_module, 'randomly_smoothed', spy)


def test_random_smoothing_noise_is_uniform_and_drawn_at_every_step(hub, monkeypatch):
    model = smoothed_model(unroll=True)
    spy = NoiseSpy(model, monkeypatch)
    wrappers = optim_wrappers(model)
    for step in range(3):
        model.train_step(dict(train=batch(dtype=torch.float64, seed=step), arch=batch(dtype=torch.float64)), wrappers)
    assert len(spy.smoothed) == 3  # the weight step only: never in the α step's passes
    deltas = [after['normal'] - before['normal'] for before, after in spy.smoothed]
    for delta in deltas:
        assert delta.abs().max() <= 0.2 and delta.abs().max() > 0.1 and delta.shape == (9, len(PRIMITIVES))
    assert not torch.equal(deltas[0], deltas[1])
    noise = torch.cat([d.flatten() for d in deltas])
    assert abs(noise.mean()) < 0.05 and noise.std() == pytest.approx(0.2 / 3**0.5, rel=0.3)


def test_random_smoothing_epsilon_rises_linearly(hub):
    model = smoothed_model((0.03, 0.3))
    wrappers = optim_wrappers(model)
    for epoch, expected in ((0, 0.03), (5, 0.165), (9, 0.273)):
        at_epoch(hub, epoch)
        model.train_step(dict(train=batch(dtype=torch.float64), arch=batch(dtype=torch.float64, seed=1)), wrappers)
        assert model.smoothing_epsilon == pytest.approx(expected, abs=1e-15)


def test_random_smoothing_weight_step_is_the_gradient_at_the_noisy_weights(hub, monkeypatch):
    """With α frozen (warm-up), a step is one SGD step on ∇w L_train(w, softmax(α) + δ) for the δ drawn."""
    model = smoothed_model()
    model.arch_warmup_epochs = 5
    reference = copy.deepcopy(model)
    spy = NoiseSpy(model, monkeypatch)
    data = dict(train=batch(dtype=torch.float64), arch=batch(dtype=torch.float64, seed=1))
    model.train_step(data, optim_wrappers(model))
    ((softmax, noisy), ) = spy.smoothed
    for cell, alpha in reference.mutator.alphas.items():
        torch.testing.assert_close(softmax[cell], torch.softmax(alpha, -1), rtol=0, atol=0)
    supernet = reference.architecture
    with reference.supernet.arch_weights(noisy):
        loss = supernet(data['train']['inputs'], data['train']['data_samples'], mode='loss')['loss']
    wrapper = optim_wrappers(reference)['architecture']
    wrapper.update_params(loss)
    assert_same_state(reference, model, tol=1e-12)
    assert (noisy['normal'] - softmax['normal']).abs().max() > 0.1  # so the noise mattered


@pytest.mark.parametrize('unroll', [False, True], ids=['first_order', 'second_order'])
def test_random_smoothing_leaves_the_alpha_step_alone(hub, unroll):
    smoothed = smoothed_model(unroll=unroll)
    plain = copy.deepcopy(smoothed)
    plain.random_smoothing = None
    models = (smoothed, plain)
    wrappers = [optim_wrappers(m) for m in models]
    data = dict(train=batch(dtype=torch.float64), arch=batch(dtype=torch.float64, seed=1))
    for model, wrapper in zip(models, wrappers):
        model.train_step(data, wrapper)
    for a, b in zip(smoothed.mutator.parameters(), plain.mutator.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # the α step ran before any noise
    assert not torch.equal(smoothed.supernet.stem[0].weight, plain.supernet.stem[0].weight)


def test_random_smoothing_captured_equals_eager(hub):
    """The noise is drawn before the weight pass and read as its input: the replayed pass sees each step's draw."""
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)

    def reseed(step, data, models, wrappers):
        torch.manual_seed(step)
        at_epoch(hub, step // 2, 3)

    model = smoothed_model((0.03, 0.3), unroll=True, edge_layout='batched')
    original = Darts._weight_pass

    def seeded(self, *args):  # each model draws the same noise at a step
        torch.manual_seed(1000 + self._steps)
        return original(self, *args)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(Darts, '_weight_pass', seeded)
        eager, captured = twin_searches(True, 'finite_difference', capturer=capturer, model=model, steps=4,
                                        event=reseed)
    assert_same_state(eager, captured)
    assert capturer.captures == 2 and capturer.all_captured()


def test_random_smoothing_is_checked():
    for bad in (0.3, (0.03, ), (0.03, -0.1), 'auto'):
        with pytest.raises(ValueError, match=r'random_smoothing must be None or \(first epsilon, last epsilon\)'):
            Darts(architecture=tiny_darts().architecture, random_smoothing=bad)
