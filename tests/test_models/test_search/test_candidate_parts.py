"""What the waves read of the candidates, and the CPU's search pass against the paper's literal sum: same outputs,
gradients and BN statistics."""
import copy

import pytest
import torch
import torch.nn as nn
from helpers import batch, tiny_darts
from torch.utils._python_dispatch import TorchDispatchMode

from mmdarts.models.functional.gradients import dense_gradient
from mmdarts.models.ops import build_candidate_op
from mmdarts.models.search import MixedOp
from mmdarts.models.search.candidate_parts import (
    foldable_batch_norm,
    recomputed_pool_batch_norm,
    shareable_activation,
)
from mmdarts.testing.straightforward import use_literal_sum


@pytest.mark.parametrize('layout', [torch.contiguous_format, torch.channels_last], ids=['nchw', 'channels_last'])
@pytest.mark.parametrize('act', ['ReLU', 'Softplus'])
def test_search_pass_equals_literal_sum(act, layout):
    fused = tiny_darts(dtype=torch.float64, act=act, channels=4, layers=3, nodes=3)
    literal = copy.deepcopy(fused)
    use_literal_sum(literal)
    b = batch(dtype=torch.float64)
    b['inputs'] = b['inputs'].contiguous(memory_format=layout)
    outs, grads = [], []
    for model in (fused, literal):
        loss, _ = model.loss_and_log(b)
        params = list(model.parameters())
        outs.append(loss)
        grads.append(torch.autograd.grad(loss, params))
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-12, atol=1e-12)
    names = [n for n, _ in fused.named_parameters()]
    for name, g_fused, g_literal in zip(names, *grads):
        torch.testing.assert_close(g_fused, g_literal, rtol=1e-9, atol=1e-12, msg=name)
    for (name, a), b_ in zip(fused.named_buffers(), literal.buffers()):
        torch.testing.assert_close(a, b_, rtol=1e-12, atol=1e-12, msg=name)


def test_what_is_shared_and_folded():
    relu = dict(type='ReLU')
    sep = build_candidate_op('sep_conv_3x3', 4, 1, False, relu)
    assert shareable_activation(sep) == 'ReLU()' and isinstance(foldable_batch_norm(sep), nn.BatchNorm2d)
    reduce_skip = build_candidate_op('skip_connect', 4, 2, False, relu)
    assert shareable_activation(reduce_skip) == 'ReLU()' and foldable_batch_norm(reduce_skip) is reduce_skip.bn
    assert shareable_activation(nn.Identity()) is None and foldable_batch_norm(nn.Identity()) is None
    prelu = build_candidate_op('dil_conv_3x3', 4, 1, False, dict(type='PReLU'))
    assert shareable_activation(prelu) is None  # an activation with parameters is not shared
    affine = build_candidate_op('dil_conv_3x3', 4, 1, True, relu)
    assert foldable_batch_norm(affine) is None  # affine BN: the weight is not folded
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(build_candidate_op('dil_conv_3x3', 4, 1, False, relu))
    assert foldable_batch_norm(synced) is None  # SyncBN keeps its own forward


def test_pool_candidates_store_only_their_input_for_the_backward():
    """The pools' outputs (and a max pool's int64 indices) are recomputed in the backward, not stored."""
    x = torch.randn(2, 4, 6, 6, requires_grad=True)
    for name in ('max_pool_3x3', 'avg_pool_3x3'):
        pool, literal = (MixedOp(4, 1, [name], None).ops[0].train() for _ in range(2))
        weight = torch.full((4, ), 0.3, requires_grad=True)  # the op weight, one per channel
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
            out = recomputed_pool_batch_norm(pool[0], pool[1], x, weight)
        large = [t for t in saved if t.numel() >= x.numel()]
        assert large and all(t.data_ptr() == x.data_ptr() and t.dtype == x.dtype for t in large)
        expected = weight.view(-1, 1, 1) * literal(x)
        torch.testing.assert_close(out, expected)
        g = torch.randn_like(out)
        for a, b in zip(torch.autograd.grad(out, (x, weight), g), torch.autograd.grad(expected, (x, weight), g)):
            torch.testing.assert_close(a, b)
        for a, b in zip(pool.buffers(), literal.buffers()):
            torch.testing.assert_close(a, b)


def test_dense_gradient_is_the_identity_with_a_dense_gradient():
    x = torch.randn(2, 6, 5, 5, dtype=torch.double).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = dense_gradient(x)
    assert torch.equal(y, x)
    cat = torch.cat([y, torch.zeros_like(y)], dim=1)  # its backward hands y a strided slice
    (grad, ) = torch.autograd.grad(cat, x, torch.randn_like(cat), create_graph=True)
    assert grad.is_contiguous(memory_format=torch.channels_last)
    assert torch.autograd.gradgradcheck(dense_gradient, (x, ))
    assert dense_gradient(x.detach()) is not None and not dense_gradient(x.detach()).requires_grad


@pytest.mark.parametrize('layout', [torch.contiguous_format, torch.channels_last], ids=['nchw', 'channels_last'])
def test_batch_norms_of_a_search_pass_get_dense_gradients(layout):
    """The cell's concatenation hands its last node strided gradient slices; BN's CPU backward is many times
    slower on those (docs/benchmarks.md), so no BN backward of the CPU's search pass may receive one."""
    model = tiny_darts(channels=4, layers=3, nodes=3)
    b = batch()
    b['inputs'] = b['inputs'].contiguous(memory_format=layout)
    loss, _ = model.loss_and_log(b)
    grad_layouts = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.__name__.startswith('native_batch_norm_backward'):
                grad = args[0]
                grad_layouts.append(grad.is_contiguous() or grad.is_contiguous(memory_format=torch.channels_last))
            return func(*args, **(kwargs or {}))

    with Record():
        torch.autograd.grad(loss, list(model.parameters()))
    assert len(grad_layouts) > 20 and all(grad_layouts)


def test_op_weights_reach_the_candidates_in_a_few_calls_per_cell():
    """A cell gathers its waves' per-channel BN scales from its (edges, ops) weights at once: no indexing call per
    candidate, and the BN counters are added in one call per forward."""
    from mmdarts.testing import count_aten_calls
    model = tiny_darts(channels=4, layers=3, nodes=3, edge_layout='per_edge')
    b = batch()
    counter_adds = []

    class CounterAdds(TorchDispatchMode):  # a BN's own count: an add_ on its integer num_batches_tracked
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket.__name__ == 'add_' and not args[0].is_floating_point():
                counter_adds.append(args[0])
            return func(*args, **(kwargs or {}))

    with CounterAdds():
        _, calls = count_aten_calls(lambda: model.loss_and_log(b))
    assert calls['select'] == 0 and calls['_foreach_add_'] == 1
    tracked = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.track_running_stats]
    assert len(counter_adds) < len(tracked) / 4  # only the BNs of the stem and the cells' preprocessing add their own
