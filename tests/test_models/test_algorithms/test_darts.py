"""Every α and weight gradient of Darts checked against an independent computation (float64 where exact)."""
import copy
import weakref

import pytest
import torch
import torch.nn.functional as F
from helpers import SMOOTH_PRIMITIVES, adam, batch, optim_wrappers, raw_batch, sgd, tiny_darts
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch.func import functional_call

from mmdarts.models import Darts
from mmdarts.models.algorithms.captured_step import weights_and_buffers
from mmdarts.models.functional.modes import plain_ops
from mmdarts.models.mutators import mixed_op_weights
from mmdarts.testing.straightforward import use_literal_sum


def labels(b):
    return torch.tensor([int(s.gt_label) for s in b['data_samples']])


def plain_loss(model: Darts, b, alphas=None, params=None):
    """Cross-entropy of the supernet written out here: softmax(α) -> supernet -> pooling -> head."""
    alphas = alphas if alphas is not None else dict(model.mutator.alphas)
    weights = {k: mixed_op_weights(a) for k, a in alphas.items()}
    with model.supernet.arch_weights(weights):
        if params is None:
            logits = model.architecture(b['inputs'], mode='tensor')
        else:
            logits = functional_call(model.architecture, params, (b['inputs'], ), {'mode': 'tensor'})
    return F.cross_entropy(logits, labels(b))


def fill_momentum(model, optimizer, seed=1):
    """Gives every weight a non-zero momentum buffer, as after earlier steps."""
    g = torch.Generator().manual_seed(seed)
    for p in model.architecture.parameters():
        optimizer.state[p]['momentum_buffer'] = 0.01 * torch.randn(p.shape, generator=g, dtype=p.dtype)


def reference_second_order(model: Darts, train, val, optimizer, scale=0.01):
    """The paper's Eq. 6-8 the straightforward way: deep copies of the model, weights written in place, .backward()."""
    group = optimizer.param_groups[0]
    lr, mu, wd = group['lr'], group['momentum'], group['weight_decay']
    # Eq. 6 on a copy
    unrolled = copy.deepcopy(model)
    loss = plain_loss(unrolled, train)
    grads = torch.autograd.grad(loss, list(unrolled.architecture.parameters()))
    with torch.no_grad():
        for (p, g), p0 in zip(zip(unrolled.architecture.parameters(), grads), model.architecture.parameters()):
            buf = optimizer.state[p0].get('momentum_buffer')
            step = g + wd * p0 + (mu * buf if buf is not None else 0)
            p.copy_(p0 - lr * step)
    unrolled.zero_grad()
    plain_loss(unrolled, val).backward()
    d_alpha = [a.grad.clone() for a in unrolled.mutator.alphas.values()]
    v = [p.grad.clone() for p in unrolled.architecture.parameters()]
    # Eq. 8 on two more copies
    eps = scale / torch.cat([x.flatten() for x in v]).norm()
    hessian_grads = []
    for sign in (1., -1.):
        moved = copy.deepcopy(model)
        with torch.no_grad():
            for p, vi in zip(moved.architecture.parameters(), v):
                p.add_(sign * eps * vi)
        moved.zero_grad()
        plain_loss(moved, train).backward()
        hessian_grads.append([a.grad.clone() for a in moved.mutator.alphas.values()])
    return [da - lr * (gp - gm) / (2 * eps) for da, gp, gm in zip(d_alpha, *hessian_grads)]


def exact_hypergradient(model: Darts, train, val, optimizer):
    """d/dα L_val(w'(α), α) through the virtual step, by autograd with create_graph (no finite differences)."""
    group = optimizer.param_groups[0]
    lr, mu, wd = group['lr'], group['momentum'], group['weight_decay']
    buffers = [optimizer.state[w]['momentum_buffer'] for w in model.architecture.parameters()]
    model = copy.deepcopy(model)
    use_literal_sum(model)
    names = [n for n, _ in model.architecture.named_parameters()]
    weights = list(model.architecture.parameters())
    alphas = list(model.mutator.alphas.values())
    with plain_ops():  # torch's own ops throughout: none of mmdarts' recomputations
        grads = torch.autograd.grad(plain_loss(model, train), weights, create_graph=True)
        w_prime = [w - lr * (g + wd * w + mu * buf) for w, g, buf in zip(weights, grads, buffers)]
        loss_val = plain_loss(model, val, params=dict(zip(names, w_prime)))
    return list(torch.autograd.grad(loss_val, alphas))


def state_snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_state(before, model):
    after = model.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), f'{k} changed'


@pytest.fixture
def float64_setup():
    model = tiny_darts(dtype=torch.float64)
    return model, batch(dtype=torch.float64, seed=1), batch(dtype=torch.float64, seed=2)


def test_first_order_is_autograd_of_val_loss(float64_setup):
    model, train, val = float64_setup
    grads, log = model.arch_gradients(train, val)
    expected = torch.autograd.grad(plain_loss(model, val), list(model.mutator.alphas.values()))
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(log['loss'], plain_loss(model, val).detach())


def test_second_order_matches_independent_finite_difference(float64_setup):
    model, train, val = float64_setup
    model.unroll = True
    optimizer = sgd(model)
    fill_momentum(model, optimizer)
    grads, _ = model.arch_gradients(train, val, optimizer)
    expected = reference_second_order(model, train, val, optimizer)
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e, rtol=1e-7, atol=1e-10)


def test_second_order_matches_exact_hypergradient_on_smooth_supernet():
    model = tiny_darts(unroll=True, dtype=torch.float64, primitives=SMOOTH_PRIMITIVES, act='Softplus')
    train, val = batch(dtype=torch.float64, seed=1), batch(dtype=torch.float64, seed=2)
    optimizer = sgd(model, lr=0.5)
    fill_momentum(model, optimizer)
    second, _ = model.arch_gradients(train, val, optimizer)
    exact = exact_hypergradient(model, train, val, optimizer)
    model.unroll = False
    first, _ = model.arch_gradients(train, val)
    flat = lambda xs: torch.cat([x.flatten() for x in xs])  # noqa: E731
    second, exact, first = flat(second), flat(exact), flat(first)
    assert (second - exact).norm() / exact.norm() < 1e-3
    # the second-order term matters: first order is far from the hypergradient
    assert (first - exact).norm() / exact.norm() > 20 * (second - exact).norm() / exact.norm()


@pytest.mark.parametrize('unroll', [True, False], ids=['second_order', 'first_order'])
def test_arch_gradients_leave_weights_buffers_and_grads_untouched(float64_setup, unroll):
    model, train, val = float64_setup
    model.unroll = unroll
    optimizer = sgd(model)
    fill_momentum(model, optimizer)
    before = state_snapshot(model)
    model.arch_gradients(train, val, optimizer)
    assert_same_state(before, model)  # weights, α and every BN running statistic, bit for bit
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in model.parameters())  # the first-order pass's switch is undone


def test_zero_validation_gradient_gives_no_nan(float64_setup):
    model, train, val = float64_setup
    model.unroll = True
    optimizer = sgd(model)
    with torch.no_grad():  # a zero head gives zero ∇w' L_val for every weight but the head bias, make that zero too
        for p in model.architecture.parameters():
            p.zero_()
    grads, _ = model.arch_gradients(train, val, optimizer)
    assert all(torch.isfinite(g).all() for g in grads)


def test_unroll_needs_weight_optimizer(float64_setup):
    model, train, val = float64_setup
    model.unroll = True
    with pytest.raises(ValueError, match='weight optimizer'):
        model.arch_gradients(train, val)


def reference_arch_step(reference: Darts, data, unroll: bool, ref_sgd, ref_adam):
    """The α step by hand on ``reference``: Adam on the α gradient computed independently (first order, or Eq. 6-8
    on deep copies), BN statistics left as they were. Returns the preprocessed train batch."""
    train = reference.data_preprocessor(data['train'], True)
    arch = reference.data_preprocessor(data['arch'], True)
    buffers = [b.clone() for b in reference.buffers()]
    if unroll:
        grads = reference_second_order(reference, train, arch, ref_sgd)
    else:
        grads = torch.autograd.grad(plain_loss(reference, arch), list(reference.mutator.alphas.values()))
    with torch.no_grad():  # the α pass must leave BN statistics as they were
        for b, saved in zip(reference.buffers(), buffers):
            b.copy_(saved)
    for a, g in zip(reference.mutator.alphas.values(), grads):
        a.grad = g
    ref_adam.step()
    ref_adam.zero_grad()
    return train


def assert_same_model(model: Darts, reference: Darts, step: int) -> None:
    """Weights, α and buffers equal to the reference's; no α gradient left behind."""
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=f'step {step}: {name}')
    for (name, b), c in zip(model.named_buffers(), reference.buffers()):
        torch.testing.assert_close(b, c, rtol=1e-5, atol=1e-6, msg=f'step {step}: buffer {name}')
    assert all(a.grad is None for a in model.mutator.parameters())


@pytest.mark.parametrize('unroll', [False, True])
def test_train_step_is_algorithm_1(unroll):
    """Two steps (the second with momentum buffers and Adam state): α moves by Adam on the independently computed
    α gradient; then the weights move by clipped SGD on ∇w L_train(w, α_new) alone; BN statistics move once."""
    model = tiny_darts(unroll=unroll)
    wrappers = optim_wrappers(model)
    reference = copy.deepcopy(model)
    ref_sgd = sgd(reference)
    ref_adam = adam(reference)
    for step in range(2):
        data = dict(train=raw_batch(seed=10 + step), arch=raw_batch(seed=20 + step))
        log = model.train_step(data, wrappers)
        assert {'loss', 'arch_loss'} <= set(log)

        train = reference_arch_step(reference, data, unroll, ref_sgd, ref_adam)
        ref_sgd.zero_grad()
        plain_loss(reference, train).backward()  # updates BN statistics, once
        reference.mutator.zero_grad()  # the weight step never writes α's .grad in Darts
        torch.nn.utils.clip_grad_norm_(reference.architecture.parameters(), 5.)
        ref_sgd.step()
        assert_same_model(model, reference, step)


@pytest.mark.parametrize('unroll', [False, True])
def test_weight_step_with_gradient_accumulation(unroll):
    """mmengine's gradient accumulation (``accumulative_counts=2`` on the weights' wrapper, whose backward then
    runs): α steps every iteration, the weights every second one, by clipped SGD on the sum of the iterations'
    ∇w L_train(w, α_new) / 2. No pass writes α's ``.grad``, and a stale one left before a step changes nothing."""
    model = tiny_darts(unroll=unroll)
    reference = copy.deepcopy(model)
    wrappers = OptimWrapperDict(
        architecture=OptimWrapper(sgd(model), clip_grad=dict(max_norm=5.), accumulative_counts=2),
        mutator=OptimWrapper(adam(model)))
    ref_sgd, ref_adam = sgd(reference), adam(reference)
    weights = list(reference.architecture.parameters())
    for alpha in model.mutator.parameters():
        alpha.grad = torch.full_like(alpha, 1e3)
    for step in range(2):
        data = dict(train=raw_batch(seed=30 + step), arch=raw_batch(seed=40 + step))
        model.train_step(data, wrappers)

        train = reference_arch_step(reference, data, unroll, ref_sgd, ref_adam)
        for w, g in zip(weights, torch.autograd.grad(plain_loss(reference, train) / 2, weights)):
            w.grad = g if w.grad is None else w.grad + g
        if step == 1:
            torch.nn.utils.clip_grad_norm_(weights, 5.)
            ref_sgd.step()
        assert_same_model(model, reference, step)
    assert all(p.grad is None for p in model.architecture.parameters())  # zeroed by the wrapper after its step


@pytest.mark.parametrize('unroll,hvp', [(False, 'finite_difference'), (True, 'finite_difference'), (True, 'exact')])
def test_each_pass_graph_is_released_before_the_next_pass(monkeypatch, unroll, hvp):
    """A pass's loss (and with it its autograd graph) kept alive into the next pass fragments the heap (the
    second-order step's CPU RSS was 2000-2075 MB then, 1200 MB without): every earlier loss must be gone when a
    pass starts, and no log returned keeps a graph."""
    original = Darts.loss_and_log
    earlier = []

    def watched(self, *args, **kwargs):
        alive = [k for k, ref in enumerate(earlier) if ref() is not None]
        assert not alive, f'pass {len(earlier)} started with the loss of pass(es) {alive} still alive'
        loss, log_vars = original(self, *args, **kwargs)
        assert not any(v.requires_grad for v in log_vars.values())
        earlier.append(weakref.ref(loss))
        return loss, log_vars

    monkeypatch.setattr(Darts, 'loss_and_log', watched)
    model = tiny_darts(unroll=unroll)
    model.hvp = hvp
    log = model.train_step(dict(train=raw_batch(seed=1), arch=raw_batch(seed=2)), optim_wrappers(model))
    assert len(earlier) == (5 if unroll and hvp != 'exact' else 3 if unroll else 2)
    assert not any(v.requires_grad for v in log.values())


def test_train_step_rejects_bad_inputs():
    model = tiny_darts()
    wrappers = optim_wrappers(model)
    with pytest.raises(ValueError, match='dict\\(train=batch, arch=batch\\)'):
        model.train_step(raw_batch(), wrappers)
    with pytest.raises(ValueError, match='"architecture"'):
        model.train_step(dict(train=raw_batch(), arch=raw_batch()), wrappers['architecture'])


def test_an_architecture_without_a_backbone_is_refused_before_anything_else_is_built():
    """Named, and before the mutator or the regularisers are built (a wrong regulariser type then cannot hide it)."""
    with pytest.raises(TypeError, match='architecture must be a classifier with a supernet backbone.*got Linear'):
        Darts(architecture=torch.nn.Linear(2, 2), arch_regularizers=[dict(type='NoSuchRegularizer')])


def test_forward_reads_alpha_every_call():
    model = tiny_darts().eval()
    x = batch()['inputs']
    out1 = model(x)
    with torch.no_grad():
        model.mutator.alphas['normal'][0, 4].add_(3.)  # one op: a whole row would not move softmax
    out2 = model(x)
    assert not torch.allclose(out1, out2)
    predictions = model(x, mode='predict')
    assert len(predictions) == x.shape[0] and predictions[0].pred_score.shape == (4, )


def test_exact_hvp_is_the_exact_hypergradient_and_agrees_with_finite_difference():
    """hvp='exact' is Eq. 7 with the exact Hessian-vector product: the unrolled hypergradient itself, even with ReLU
    (kinks have measure zero); on a smooth supernet the finite difference agrees within its error."""
    model = tiny_darts(unroll=True, dtype=torch.float64)
    train, val = batch(dtype=torch.float64, seed=1), batch(dtype=torch.float64, seed=2)
    optimizer = sgd(model, lr=0.5)
    fill_momentum(model, optimizer)
    model.hvp = 'exact'
    exact, _ = model.arch_gradients(train, val, optimizer)
    for g, e in zip(exact, exact_hypergradient(model, train, val, optimizer)):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-12)

    smooth = tiny_darts(unroll=True, dtype=torch.float64, primitives=SMOOTH_PRIMITIVES, act='Softplus')
    optimizer = sgd(smooth, lr=0.5)
    fill_momentum(smooth, optimizer)
    smooth.hvp = 'exact'
    exact = torch.cat([g.flatten() for g in smooth.arch_gradients(train, val, optimizer)[0]])
    smooth.hvp = 'finite_difference'
    fd = torch.cat([g.flatten() for g in smooth.arch_gradients(train, val, optimizer)[0]])
    assert (fd - exact).norm() / exact.norm() < 1e-3


def test_exact_hvp_leaves_state_untouched(float64_setup):
    model, train, val = float64_setup
    model.unroll, model.hvp = True, 'exact'
    optimizer = sgd(model)
    before = state_snapshot(model)
    model.arch_gradients(train, val, optimizer)
    assert_same_state(before, model)
    assert all(p.grad is None for p in model.parameters())


def test_weights_and_buffers_in_one_walk_match_named_parameters_and_buffers():
    model = tiny_darts(unroll=True)
    model.architecture.backbone.stem[0].weight.requires_grad_(False)  # a frozen weight is left out
    weights, buffers = weights_and_buffers(model.architecture)
    assert [id(p) for p in weights] == [id(p) for p in model._weights()[1]]
    assert [id(b) for b in buffers] == [id(b) for b in model.architecture.buffers()]
