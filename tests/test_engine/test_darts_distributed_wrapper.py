"""Two processes (gloo, one thread each), different data per rank: both end identical, and each step applied the
mean over the ranks of what each rank computes from its own batches, recomputed here in one process."""
import os.path as osp
import sys

import pytest
import torch
from helpers import REPO, adam, run_python, sgd, tiny_darts

sys.path.insert(0, osp.join(REPO, 'tests', 'data'))
from dist_train_step_worker import rank_batches  # noqa: E402

STEPS = 3


def reference_run(initial: dict, unroll: bool) -> dict:
    """One process: per step, the α gradient and the weight gradient are means over the two ranks' batches; BN
    running statistics are the mean of each rank's update (the wrapper averages buffers)."""
    model = tiny_darts(unroll=unroll)
    model.load_state_dict(initial)
    weight_opt, alpha_opt = sgd(model), adam(model)
    weights = list(model.architecture.parameters())
    for step in range(STEPS):
        batches = [rank_batches(rank, step) for rank in range(2)]
        prepared = [{k: model.data_preprocessor(b[k], True) for k in ('train', 'arch')} for b in batches]
        grads = [model.arch_gradients(p['train'], p['arch'], weight_opt)[0] for p in prepared]
        for alpha, g0, g1 in zip(model.mutator.parameters(), *grads):
            alpha.grad = (g0 + g1) / 2
        alpha_opt.step()
        alpha_opt.zero_grad()
        start = [b.clone() for b in model.buffers()]
        rank_grads, rank_buffers = [], []
        for p in prepared:
            with torch.no_grad():
                for b, s in zip(model.buffers(), start):
                    b.copy_(s)
            loss, _ = model.loss_and_log(p['train'], detach_alpha=True)
            rank_grads.append(torch.autograd.grad(loss, weights))
            rank_buffers.append([b.clone() for b in model.buffers()])
        with torch.no_grad():
            for b, b0, b1 in zip(model.buffers(), *rank_buffers):
                b.copy_((b0 + b1) / 2 if b.is_floating_point() else b0)
        for w, g0, g1 in zip(weights, *rank_grads):
            w.grad = (g0 + g1) / 2
        torch.nn.utils.clip_grad_norm_(weights, 5.)
        weight_opt.step()
        weight_opt.zero_grad()
    return model.state_dict()


# two processes each: the first-order run (the same all-reduce, fewer passes) carries the slow marker, `make test-slow`
@pytest.mark.parametrize('unroll', [pytest.param(False, marks=pytest.mark.slow), True],
                         ids=['first_order', 'second_order'])
def test_two_ranks_apply_the_mean_update(tmp_path, unroll):
    result = run_python(['-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_port=29541',
                         osp.join(REPO, 'tests/data/dist_train_step_worker.py'), str(tmp_path), str(int(unroll)),
                         str(STEPS)], threads=1, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rank0, rank1 = (torch.load(tmp_path / f'rank{r}.pt') for r in (0, 1))
    for key in rank0['initial']:  # the wrapper started rank 1 from rank 0's weights, α and buffers
        assert torch.equal(rank0['initial'][key], rank1['initial'][key]), key
    for key in rank0['final']:
        assert torch.equal(rank0['final'][key], rank1['final'][key]), key
    expected = reference_run(rank0['initial'], unroll)
    moved = False
    for key, value in expected.items():
        torch.testing.assert_close(rank0['final'][key], value, rtol=1e-4, atol=1e-5, msg=key)
        moved |= not torch.equal(value, rank0['initial'][key])
    assert moved
