"""The dominant eigenvalue of ∇²α L_val against the largest eigenvalue of the Hessian built row by row by autograd
(R-DARTS's method), in float64, on a tiny supernet (40 α); and on two ranks."""
import copy
import os.path as osp

import pytest
import torch
from helpers import REPO, batch, run_python, tiny_darts

from mmdarts.models.algorithms import frozen_running_stats
from mmdarts.models.algorithms.arch_hessian import dominant_arch_eigenvalue, lanczos_largest_eigenvalue
from mmdarts.models.functional.modes import plain_ops, twice_differentiable
from mmdarts.testing.straightforward import use_literal_sum


def explicit_hessian(model, batches):
    """∇²α of the mean L_val over ``batches``, one double backward per α, the literal sum on torch's own ops."""
    model = copy.deepcopy(model)
    use_literal_sum(model)
    alphas = list(model.mutator.parameters())
    with frozen_running_stats(model.architecture), plain_ops(), twice_differentiable():
        loss = sum(model.loss_and_log(b)[0] for b in batches) / len(batches)
        grads = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, alphas, create_graph=True)])
        rows = [torch.cat([r.reshape(-1) for r in torch.autograd.grad(g, alphas, retain_graph=True)]) for g in grads]
    return torch.stack(rows)


PRIMITIVES = ('none', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3')  # 40 α: 2 cells x 5 edges x 4 ops


def test_dominant_eigenvalue_equals_the_explicit_hessians():
    model = tiny_darts(dtype=torch.float64, primitives=PRIMITIVES)
    batches = [batch(dtype=torch.float64, seed=s) for s in (1, 2)]
    hessian = explicit_hessian(model, batches)
    assert hessian.shape == (40, 40)
    torch.testing.assert_close(hessian, hessian.T, rtol=1e-8, atol=1e-10)  # a Hessian: the double backward works
    before = {k: v.clone() for k, v in model.state_dict().items()}
    weight_decay = 1e-3  # R-DARTS adds the α weight decay to the diagonal: a shift this test tells from none
    expected = torch.linalg.eigvalsh(hessian + weight_decay * torch.eye(40, dtype=torch.float64))[-1].item()
    got = dominant_arch_eigenvalue(model, batches, iterations=40, weight_decay=weight_decay)
    assert abs(got - expected) <= 1e-6 * abs(expected), (got, expected)
    assert expected - weight_decay > 1e-3
    for k, v in model.state_dict().items():  # no weight, α or BN statistic moved
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in model.parameters())
    # fewer products than α give it to a search's float32 precision
    assert abs(dominant_arch_eigenvalue(model, batches, iterations=20, weight_decay=1e-3) - expected) <= 1e-5 * expected


def test_the_eigenvalue_on_the_waves_equals_the_literal_sums():
    model = tiny_darts(dtype=torch.float64, edge_layout='batched', primitives=PRIMITIVES)
    literal = tiny_darts(dtype=torch.float64, edge_layout='per_edge', primitives=PRIMITIVES)
    literal.load_state_dict(model.state_dict())
    use_literal_sum(literal)
    data = [batch(dtype=torch.float64, seed=3)]
    a, b = (dominant_arch_eigenvalue(m, data, iterations=10) for m in (model, literal))
    assert abs(a - b) <= 1e-9 * abs(b)


def test_lanczos_finds_the_largest_eigenvalue_of_a_symmetric_matrix():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(30, 30, generator=g, dtype=torch.float64)
    matrix = a + a.T
    expected = torch.linalg.eigvalsh(matrix)[-1].item()
    assert lanczos_largest_eigenvalue(lambda v: matrix @ v, 30, 30) == pytest.approx(expected, rel=1e-12)
    low_rank = a[:, :3] @ a[:, :3].T  # an invariant subspace after 3 steps: exact there
    assert lanczos_largest_eigenvalue(lambda v: low_rank @ v, 30, 30) == pytest.approx(
        torch.linalg.eigvalsh(low_rank)[-1].item(), rel=1e-12)


@pytest.mark.slow  # two processes, each importing torch and building the model: `make test-slow`
def test_two_ranks_compute_the_same_eigenvalue_of_their_mean_hessian(tmp_path):
    """Two processes (gloo), a batch each: both get the eigenvalue of the Hessian of the mean over the two batches,
    computed here in one process."""
    result = run_python(['-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_port=29547',
                         osp.join(REPO, 'tests/data/dist_eigenvalue_worker.py'), str(tmp_path)], threads=1,
                        timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    values = [torch.load(tmp_path / f'rank{r}.pt')['value'] for r in (0, 1)]
    assert values[0] == values[1]
    torch.manual_seed(0)
    model = tiny_darts(dtype=torch.float64)
    expected = dominant_arch_eigenvalue(model, [batch(dtype=torch.float64, seed=10 + r) for r in (0, 1)], iterations=8)
    assert values[0] == pytest.approx(expected, rel=1e-10)
