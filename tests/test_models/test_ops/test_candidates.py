import pytest
import torch
import torch.nn as nn

from mmdarts.models.ops import DARTS_PRIMITIVES, Zero, build_candidate_op, check_primitives
from mmdarts.models.search import MixedOp


@pytest.mark.parametrize('name', DARTS_PRIMITIVES)
@pytest.mark.parametrize('stride', [1, 2])
def test_every_primitive_keeps_channels_and_divides_size(name, stride):
    op = build_candidate_op(name, 4, stride, False, dict(type='ReLU'))
    out = op(torch.randn(2, 4, 8, 8))
    assert out.shape == (2, 4, 8 // stride, 8 // stride)


@pytest.mark.parametrize('name', DARTS_PRIMITIVES)
def test_search_ops_have_no_affine_batchnorm(name):
    op = build_candidate_op(name, 4, 2, False, dict(type='ReLU'))
    assert all(not m.affine for m in op.modules() if isinstance(m, nn.BatchNorm2d))


@pytest.mark.parametrize('name', ['max_pool_3x3', 'avg_pool_3x3'])
def test_pools_are_followed_by_batchnorm_in_the_search_only(name):
    searched = MixedOp(4, 1, [name], None).ops[0]
    assert isinstance(searched[-1], nn.BatchNorm2d) and not searched[-1].affine
    assert not list(build_candidate_op(name, 4, 1, True, None).parameters())  # retrained cells: a plain pool


def test_none_is_exactly_zero():
    x = torch.full((1, 2, 4, 4), float('inf'))
    assert torch.equal(Zero(1)(x), torch.zeros(1, 2, 4, 4))
    assert Zero(2)(x).shape == (1, 2, 2, 2)


def test_unknown_primitive_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"primitives\[1\]: unknown op 'sep_conv_9x9'; expected one of .*dil_conv"):
        check_primitives(['none', 'sep_conv_9x9'])
    with pytest.raises(ValueError, match='more than once'):
        check_primitives(['none', 'none'])
    with pytest.raises(ValueError, match='non-empty list'):
        check_primitives('sep_conv_3x3')


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="unknown activation type 'Relu'"):
        build_candidate_op('sep_conv_3x3', 4, 1, False, dict(type='Relu'))


def test_mixed_op_is_the_weighted_sum_of_all_ops():
    torch.manual_seed(0)
    op = MixedOp(4, 1, DARTS_PRIMITIVES, dict(type='ReLU')).train()
    x = torch.randn(3, 4, 6, 6)
    w = torch.softmax(torch.randn(len(DARTS_PRIMITIVES)), 0)
    expected = sum(wk * o(x) for wk, o in zip(w, op.ops))  # `none` included, as the paper writes it
    torch.testing.assert_close(op(x, w), expected)


def test_mixed_op_of_none_alone_is_zero():
    op = MixedOp(4, 2, ['none'], None)
    assert torch.equal(op(torch.ones(1, 4, 4, 4), torch.ones(1)), torch.zeros(1, 4, 2, 2))


@pytest.mark.parametrize('size', [7, 8, 9])
@pytest.mark.parametrize('kernel, stride, padding, dilation', [
    (3, 2, 2, 2), (5, 2, 4, 2), (3, 3, 3, 3), (3, 2, 0, 2),  # subsampled: stride = dilation, padding a multiple
    (3, 1, 2, 2), (3, 2, 1, 2), (3, 2, 1, 1)])  # the plain conv
def test_dilated_conv_equals_the_plain_conv_in_value_and_gradients(size, kernel, stride, padding, dilation):
    from mmdarts.models.ops import DilatedConv2d, subsampled_geometry
    torch.manual_seed(0)
    conv = DilatedConv2d(4, 4, kernel, stride, padding, dilation, groups=4, bias=False).double()
    x = torch.randn(2, 4, size, size, dtype=torch.double).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    out = conv(x)
    expected = nn.functional.conv2d(x, conv.weight, None, stride, padding, dilation, 4)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    g = torch.randn_like(out)
    got = torch.autograd.grad(out, (x, conv.weight), g)
    want = torch.autograd.grad(expected, (x, conv.weight), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    subsampled = subsampled_geometry(conv.stride, conv.padding, conv.dilation) is not None
    assert subsampled == (stride == dilation > 1 and padding % dilation == 0)


@pytest.mark.parametrize('kernel, padding, dilation, multiplier', [
    ((3, 3), (1, 1), (1, 1), 1), ((5, 5), (4, 4), (2, 2), 1), ((3, 5), (0, 3), (1, 2), 1), ((3, 3), (2, 2), (2, 2), 2)])
def test_stride_one_input_gradient_is_the_conv_with_the_flipped_kernel(kernel, padding, dilation, multiplier):
    """The depthwise backward the recomputing convs use: torch's own ∇x of the conv, to rounding."""
    from mmdarts.models.functional.conv_geometry import stride_one_input_gradient
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 8, dtype=torch.double, requires_grad=True)
    weight = torch.randn(3 * multiplier, 1, *kernel, dtype=torch.double)
    out = nn.functional.conv2d(x, weight, None, 1, padding, dilation, 3)
    g = torch.randn_like(out)
    got = stride_one_input_gradient(g, weight, (None, (1, 1), padding, dilation), 3)
    torch.testing.assert_close(got, torch.autograd.grad(out, x, g)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize('stride, padding', [((2, 2), (1, 1)), ((1, 1), (3, 1))])
def test_stride_one_input_gradient_declines_what_it_does_not_compute(stride, padding):
    from mmdarts.models.functional.conv_geometry import stride_one_input_gradient
    g, weight = torch.randn(1, 3, 4, 4), torch.randn(3, 1, 3, 3)  # stride 2, or padding 3 > d(k - 1) = 2
    assert stride_one_input_gradient(g, weight, (None, stride, padding, (1, 1)), 3) is None


def test_dil_conv_uses_the_subsampled_conv_with_the_state_dict_of_a_plain_conv():
    from mmdarts.models.ops import DilatedConv2d
    op = build_candidate_op('dil_conv_5x5', 4, 2, False, dict(type='ReLU'))
    assert isinstance(op[1], DilatedConv2d) and op[1].stride == op[1].dilation == (2, 2)
    plain = nn.Conv2d(4, 4, 5, 2, 4, 2, groups=4, bias=False)
    op[1].load_state_dict(plain.state_dict())  # same keys and shapes: checkpoints of either load in the other


@pytest.mark.parametrize('size', [7, 8])
def test_factorized_reduce_equals_the_papers_padded_form(size):
    from mmdarts.models.ops import FactorizedReduce
    torch.manual_seed(0)
    op = FactorizedReduce(4, 6, affine=True).double().train()
    x = torch.randn(2, 4, size, size, dtype=torch.double, requires_grad=True)
    out = op(x)
    relu = torch.relu(x)  # the paper's code: conv_2 (stride 2) of relu(x) shifted by one, zero-padded at the end
    shifted = nn.functional.pad(relu[:, :, 1:, 1:], (0, 1, 0, 1))
    cat = torch.cat([nn.functional.conv2d(relu, op.conv1.weight, stride=2),
                     nn.functional.conv2d(shifted, op.conv2.weight, stride=2)], dim=1)
    expected = nn.functional.batch_norm(cat, None, None, op.bn.weight, op.bn.bias, True)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    g = torch.randn_like(out)
    params = (x, op.conv1.weight, op.conv2.weight)
    for a, b in zip(torch.autograd.grad(out, params, g), torch.autograd.grad(expected, params, g)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
