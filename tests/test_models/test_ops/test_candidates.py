import pytest
import torch
import torch.nn as nn

from mmdarts.models.ops import DARTS_PRIMITIVES, Zero, build_candidate_op, check_primitives
from mmdarts.models.utils import MixedOp


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
