"""The custom autograd Functions under autocast (CPU bfloat16 here; CUDA float16 on a GPU): the plain ops' values
and gradients, to bfloat16 tolerance. Before, their backward failed: ``Input type (CPUBFloat16Type) and weight type
(torch.FloatTensor) should be the same``."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from helpers import batch, tiny_darts

from mmdarts.models.ops import build_candidate_op
from mmdarts.models.search.candidate_parts import recomputed_pool_batch_norm

BF16 = dict(device_type='cpu', dtype=torch.bfloat16)


def plain_dil_conv(op, x, skip_bn=False):
    act, depthwise, pointwise, bn = op
    h = F.conv2d(act(x), depthwise.weight, None, depthwise.stride, depthwise.padding, depthwise.dilation,
                 depthwise.groups)
    h = F.conv2d(h, pointwise.weight)
    return h if skip_bn else bn(h)


def plain_sep_conv(op, x):
    return plain_dil_conv(op[1], plain_dil_conv(op[0], x))


def close(actual, expected, what):
    assert actual.dtype == expected.dtype, what
    scale = expected.detach().abs().max().float().clamp_min(1e-6)
    torch.testing.assert_close(actual.float(), expected.float(), rtol=0, atol=float(3e-2 * scale), msg=what)


@pytest.mark.parametrize('name,plain', [('dil_conv_3x3', plain_dil_conv), ('dil_conv_5x5', plain_dil_conv),
                                        ('sep_conv_3x3', plain_sep_conv), ('sep_conv_5x5', plain_sep_conv)])
@pytest.mark.parametrize('stride', [1, 2])
def test_conv_candidates_under_bf16_autocast_equal_the_plain_ops(name, plain, stride):
    op = build_candidate_op(name, 8, stride, False, dict(type='ReLU')).train()
    reference = copy.deepcopy(op)
    x = torch.randn(4, 8, 12, 12).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    results = []
    for module, forward in ((op, lambda m, x: m(x)), (reference, plain)):
        with torch.autocast(**BF16):
            out = forward(module, x)
        params = [x] + list(module.parameters())
        upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(1)).to(out.dtype)
        results.append((out, torch.autograd.grad(out, params, upstream), list(module.buffers())))
    (out, grads, buffers), (out_ref, grads_ref, buffers_ref) = results
    assert out.dtype == torch.bfloat16
    close(out, out_ref, 'output')
    for i, (g, g_ref) in enumerate(zip(grads, grads_ref)):
        close(g, g_ref, f'gradient {i}')  # float32 for the float32 input and weights, as autocast gives
    for b, b_ref in zip(buffers, buffers_ref):
        close(b.float(), b_ref.float(), 'BN statistics')


@pytest.mark.parametrize('pool', ['max_pool_3x3', 'avg_pool_3x3'])
def test_pool_candidates_under_bf16_autocast_equal_the_plain_ops(pool):
    op = nn.Sequential(build_candidate_op(pool, 8, 1, False, dict(type='ReLU')), nn.BatchNorm2d(8, affine=False))
    reference = copy.deepcopy(op)
    x = torch.randn(4, 8, 10, 10).requires_grad_(True)
    weight = torch.full((8, ), 0.3, requires_grad=True)  # the op weight, one per channel
    def state():  # a bfloat16 cell state, as the conv before it gives under autocast
        return F.conv2d(x, torch.eye(8).reshape(8, 8, 1, 1))

    with torch.autocast(**BF16):
        out = recomputed_pool_batch_norm(op[0], op[1], state(), weight)
        out_ref = (weight.view(-1, 1, 1) * reference(state())).to(torch.bfloat16)  # a 0-dim weight keeps bf16
    assert out.dtype == torch.bfloat16
    close(out, out_ref, 'output')
    upstream = torch.randn(out.shape).to(out.dtype)
    for g, g_ref in zip(torch.autograd.grad(out, (x, weight), upstream),
                        torch.autograd.grad(out_ref, (x, weight), upstream)):
        close(g, g_ref, 'gradient')


def test_supernet_forward_and_backward_under_bf16_autocast():
    model = tiny_darts(channels=8, layers=3, nodes=2)
    b = batch(n=8, size=8)
    b['inputs'] = model.formatted(b['inputs'])
    grads = []
    for enabled in (False, True):
        with torch.autocast(enabled=enabled, **BF16):
            loss, _ = model.loss_and_log(b)
        grads.append(torch.autograd.grad(loss, list(model.architecture.parameters())))
    flat = [torch.cat([g.float().reshape(-1) for g in gs]) for gs in grads]
    assert torch.nn.functional.cosine_similarity(flat[0], flat[1], dim=0) > 0.95  # bfloat16 has 8 bits
