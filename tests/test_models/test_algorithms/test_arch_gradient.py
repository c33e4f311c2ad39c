"""The pure functions of Eq. 6-8 against hand calculations."""
import torch

from mmdarts.models.algorithms import (
    finite_difference_epsilon,
    finite_difference_hvp,
    frozen_running_stats,
    perturb,
    unrolled_arch_gradient,
    virtual_step,
)


def test_virtual_step_is_an_sgd_step_with_momentum_and_decay():
    w = [torch.tensor([1., -2.]), torch.tensor([3.])]
    g = [torch.tensor([0.5, 0.5]), torch.tensor([-1.])]
    buf = [torch.tensor([1., 0.]), None]
    out = virtual_step(w, g, buf, lr=0.1, momentums=[0.9, 0.9], weight_decays=[0.01, 0.])
    # w - lr * (mu * buf + g + wd * w)
    torch.testing.assert_close(out[0], torch.tensor([1 - 0.1 * (0.9 + 0.5 + 0.01), -2 - 0.1 * (0.5 - 0.02)]))
    torch.testing.assert_close(out[1], torch.tensor([3.1]))
    assert all(t.requires_grad and t.is_leaf for t in out)
    assert torch.equal(w[0], torch.tensor([1., -2.]))  # inputs untouched


def test_epsilon_is_scale_over_global_norm():
    v = [torch.tensor([3., 0.]), torch.tensor([[4.]])]
    torch.testing.assert_close(finite_difference_epsilon(v), torch.tensor(0.01 / 5.))
    zero = finite_difference_epsilon([torch.zeros(3)])
    assert torch.isfinite(zero) and zero > 0


def test_perturb_and_hvp_precedence():
    w, v = [torch.tensor([1., 2.])], [torch.tensor([1., -1.])]
    eps = torch.tensor(0.1)
    plus, minus = perturb(w, v, eps)
    torch.testing.assert_close(plus[0], torch.tensor([1.1, 1.9]))
    torch.testing.assert_close(minus[0], torch.tensor([0.9, 2.1]))
    # (g+ - g-) / (2 eps): 0.4 / 0.2 = 2, not 0.4 / 2 * 0.1 = 0.02
    hvp = finite_difference_hvp([torch.tensor([1.4])], [torch.tensor([1.0])], eps)
    torch.testing.assert_close(hvp[0], torch.tensor([2.]))
    torch.testing.assert_close(unrolled_arch_gradient([torch.tensor([1.])], hvp, 0.25)[0], torch.tensor([0.5]))


def test_hvp_of_a_quadratic_is_exact():
    """L(w, a) = a * w^T w / 2: ∇a L = w^T w / 2, ∇²a,w L · v = w^T v; the central difference is exact here."""
    w = torch.tensor([1., 2., -1.], dtype=torch.float64)
    v = torch.tensor([0.5, -1., 2.], dtype=torch.float64)
    eps = finite_difference_epsilon([v])
    (wp, ), (wm, ) = perturb([w], [v], eps)
    hvp = finite_difference_hvp([wp @ wp / 2], [wm @ wm / 2], eps)
    torch.testing.assert_close(hvp[0], w @ v)


def test_frozen_running_stats_keeps_buffers_and_outputs():
    bn = torch.nn.BatchNorm2d(3).train()
    x = torch.randn(4, 3, 2, 2)
    expected = bn(x)
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    with frozen_running_stats(bn):
        out = bn(x)
    torch.testing.assert_close(out, expected)
    assert all(torch.equal(v, bn.state_dict()[k]) for k, v in before.items())
    assert bn.track_running_stats


def test_sync_batchnorm_of_a_converted_supernet_is_frozen_too():
    """sync_bn=torch converts every BN of the search model; the α passes must still leave their statistics alone
    (SyncBatchNorm forwards only on GPUs, so here the switch itself is checked)."""
    from helpers import tiny_darts
    model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(tiny_darts(edge_layout='per_edge'))
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert bns and all(isinstance(m, torch.nn.SyncBatchNorm) for m in bns)
    with frozen_running_stats(model):
        assert not any(m.track_running_stats for m in bns)
    assert all(m.track_running_stats for m in bns)


def test_eq6_and_eq8_make_a_fixed_number_of_calls_for_any_number_of_tensors():
    """One call per group of tensors (torch._foreach_*), not one or more per tensor: the supernet has ~1,400 weight
    tensors, and each call is a kernel launch on a GPU."""
    from mmdarts.testing import count_aten_calls

    def calls(n):
        w = [torch.randn(3, 2) for _ in range(n)]
        g = [torch.randn(3, 2) for _ in range(n)]
        buf = [torch.randn(3, 2) for _ in range(n)]
        total, _ = count_aten_calls(lambda: virtual_step(w, g, buf, 0.1, [0.9] * n, [3e-4] * n))
        eps = finite_difference_epsilon(g)
        more, _ = count_aten_calls(lambda: (finite_difference_epsilon(g), perturb(w, g, eps)))
        return total + more

    assert calls(10) == calls(100) <= 16


def test_foreach_virtual_step_equals_the_per_tensor_formula():
    torch.manual_seed(0)
    w = [torch.randn(4, 3, dtype=torch.float64) for _ in range(5)]
    g = [torch.randn(4, 3, dtype=torch.float64) for _ in range(5)]
    buf = [torch.randn(4, 3, dtype=torch.float64), None, torch.randn(4, 3, dtype=torch.float64), None, None]
    mus, wds = [0.9, 0.9, 0.5, 0., 0.9], [3e-4, 0., 3e-4, 1e-3, 0.]
    out = virtual_step(w, g, buf, 0.025, mus, wds)
    for wi, gi, bi, mu, wd, o in zip(w, g, buf, mus, wds, out):
        d = gi + wd * wi + (mu * bi if bi is not None else 0)
        assert torch.equal(o.detach(), wi - 0.025 * d) or torch.allclose(o.detach(), wi - 0.025 * d, 0, 1e-15)
