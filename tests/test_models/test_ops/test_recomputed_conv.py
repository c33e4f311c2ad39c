"""A DilConv's convs as one function (``DepthwisesPointwise`` of one depthwise conv) against torch's own convs:
values, first and second derivatives, and what it stores."""
import pytest
import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode

from mmdarts.models.ops import DilatedConv2d, depthwise_pointwise


def convs(kernel, stride, padding, dilation, channels=3, out=4):
    torch.manual_seed(0)
    depthwise = DilatedConv2d(channels, channels, kernel, stride, padding, dilation, groups=channels, bias=False)
    pointwise = nn.Conv2d(channels, out, 1, bias=False)
    return depthwise.double(), pointwise.double()


# (kernel, stride, padding, dilation): (3,2,2,2) and (5,2,4,2) run subsampled; the stride-1 ones' ∇x is a conv with
# the flipped kernel (padding d(k-1)-p: 2, 0, 2 and 4 for the first four), except (3,1,3,1): p > d(k-1), torch's own
GEOMETRIES = [(3, 1, 0, 1), (3, 1, 2, 1), (3, 1, 2, 2), (5, 1, 4, 2), (3, 1, 3, 1), (5, 2, 2, 1), (3, 2, 2, 2),
              (5, 2, 4, 2)]


@pytest.mark.parametrize('geometry', GEOMETRIES)
@pytest.mark.parametrize('layout', [torch.contiguous_format, torch.channels_last], ids=['nchw', 'channels_last'])
def test_values_and_gradients_equal_the_plain_convs(geometry, layout):
    depthwise, pointwise = convs(*geometry)
    x = torch.randn(2, 3, 7, 7, dtype=torch.double).contiguous(memory_format=layout).requires_grad_(True)
    out = depthwise_pointwise(x, depthwise, pointwise)
    expected = nn.functional.conv2d(
        nn.functional.conv2d(x, depthwise.weight, None, depthwise.stride, depthwise.padding, depthwise.dilation, 3),
        pointwise.weight)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    g = torch.randn_like(out)
    params = (x, depthwise.weight, pointwise.weight)
    for a, b in zip(torch.autograd.grad(out, params, g), torch.autograd.grad(expected, params, g)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


class Pair(nn.Module):
    def __init__(self, depthwise, pointwise):
        super().__init__()
        self.depthwise, self.pointwise = depthwise, pointwise

    def forward(self, x):
        return depthwise_pointwise(x, self.depthwise, self.pointwise)


@pytest.mark.parametrize('geometry', [(3, 1, 1, 1), (3, 1, 2, 2), (3, 2, 2, 2)])
def test_first_and_second_derivatives_by_finite_differences(geometry):
    """Twice differentiable (hvp='exact' builds a graph of the backward), checked by torch's finite differences."""
    pair = Pair(*convs(*geometry, channels=2, out=2))

    def f(x, depthwise_weight, pointwise_weight):
        weights = {'depthwise.weight': depthwise_weight, 'pointwise.weight': pointwise_weight}
        return torch.func.functional_call(pair, weights, (x, ))

    inputs = (torch.randn(1, 2, 5, 5, dtype=torch.double, requires_grad=True),
              pair.depthwise.weight.detach().clone().requires_grad_(True),
              pair.pointwise.weight.detach().clone().requires_grad_(True))
    assert torch.autograd.gradcheck(f, inputs)
    assert torch.autograd.gradgradcheck(f, inputs)


def test_stores_only_its_input_and_recomputes_only_for_the_pointwise_weight_gradient():
    depthwise, pointwise = convs(3, 1, 1, 1)
    x = torch.randn(2, 3, 6, 6, dtype=torch.double, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        out = depthwise_pointwise(x, depthwise, pointwise)
    assert [t.shape for t in saved] == [x.shape, depthwise.weight.shape, pointwise.weight.shape]
    calls = []

    class Count(TorchDispatchMode):  # each op called, and whether its first argument is x
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            first = args[0] if args and isinstance(args[0], torch.Tensor) else None
            calls.append((func.__name__, first is not None and first.data_ptr() == x.data_ptr()))
            return func(*args, **(kwargs or {}))

    with Count():
        torch.autograd.grad(out, pointwise.weight, torch.ones_like(out))
    assert ('convolution.default', True) in calls  # the depthwise output, recomputed from x
    calls.clear()
    for conv in (depthwise, pointwise):  # as in the α-only passes: weights that need no gradient
        conv.weight.requires_grad_(False)
    x = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)  # the CPU's layout
    out = depthwise_pointwise(x, depthwise, pointwise)
    with Count():
        torch.autograd.grad(out, x, torch.ones_like(out))
    # no recomputation; ∇x: the pointwise conv's transpose, then the depthwise one's as a conv with the flipped kernel
    assert ('convolution.default', True) not in calls
    assert [name for name, _ in calls if name.startswith('convolution')] == ['convolution.default'] * 2


@pytest.mark.parametrize('tracked', [True, False], ids=['tracking', 'frozen'])
@pytest.mark.parametrize('layout', [torch.contiguous_format, torch.channels_last], ids=['nchw', 'channels_last'])
def test_separable_conv_middle_equals_bn_relu_convs(tracked, layout):
    """BN - ReLU - depthwise - pointwise from the BN's output alone: same values, gradients and BN statistics."""
    from mmdarts.models.ops import norm_relu_depthwise_pointwise
    depthwise, pointwise = convs(3, 1, 1, 1)
    bn, reference_bn = (nn.BatchNorm2d(3, affine=False).double() for _ in range(2))
    for m in (bn, reference_bn):
        m.track_running_stats = tracked
    z = torch.randn(4, 3, 6, 6, dtype=torch.double).contiguous(memory_format=layout).requires_grad_(True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        out = norm_relu_depthwise_pointwise(z, bn, nn.ReLU(), depthwise, pointwise)
    assert sum(t.numel() >= z.numel() for t in saved) == 1  # the BN's output only
    expected = pointwise(depthwise(torch.relu(reference_bn(z))))
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    g = torch.randn_like(out)
    params = (z, depthwise.weight, pointwise.weight)
    for a, b in zip(torch.autograd.grad(out, params, g), torch.autograd.grad(expected, params, g)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(bn.buffers(), reference_bn.buffers()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_separable_conv_middle_is_plain_where_a_double_backward_is_wanted():
    from mmdarts.models.functional.depthwise_pointwise import depthwises_pointwise
    from mmdarts.models.functional.modes import twice_differentiable
    from mmdarts.models.ops import norm_relu_depthwise_pointwise
    depthwise, pointwise = convs(3, 1, 1, 1)
    bn = nn.BatchNorm2d(3, affine=False).double()
    z = torch.randn(4, 3, 5, 5, dtype=torch.double, requires_grad=True)
    out = norm_relu_depthwise_pointwise(z, bn, nn.ReLU(), depthwise, pointwise)
    with pytest.raises(RuntimeError, match='twice_differentiable'):
        torch.autograd.grad(out.sum(), depthwise.weight, create_graph=True)
    geometry = [(None, (1, 1), (1, 1), (1, 1))]  # the ReLU alone: its output stored, not connected to z
    out = depthwises_pointwise(z, [depthwise.weight], pointwise.weight, geometry, None, 1, relu=True)
    with pytest.raises(RuntimeError, match='twice_differentiable'):
        torch.autograd.grad(out.sum(), depthwise.weight, create_graph=True)
    with twice_differentiable():
        out = norm_relu_depthwise_pointwise(z, bn, nn.ReLU(), depthwise, pointwise)
    (grad, ) = torch.autograd.grad(out.square().sum(), depthwise.weight, create_graph=True)
    assert grad.requires_grad
    affine = nn.BatchNorm2d(3).double()  # an affine BN (retraining) is not inverted from its output
    out = norm_relu_depthwise_pointwise(z, affine, nn.ReLU(), depthwise, pointwise)
    assert type(out.grad_fn).__name__ == 'DepthwisesPointwiseBackward'
