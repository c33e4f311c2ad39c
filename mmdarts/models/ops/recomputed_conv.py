"""Depthwise-then-pointwise convs that store less for the backward than torch's ops do.

The pointwise conv's weight gradient needs the depthwise output h; storing it costs one activation per
:class:`~mmdarts.models.ops.DilConv` (six per edge of the DARTS search space). :class:`DepthwisePointwise` stores
only the input and recomputes h in the backward, only when the pointwise weight gradient is asked for (the
α-only passes never recompute it); twice differentiable. :class:`NormReluDepthwisePointwise` (the middle of a
separable conv) also takes the BN and ReLU before it and stores only the BN's output; differentiable once, so
passes that need a double backward run inside :func:`twice_differentiable`. Same values and gradients as
torch's ops, under autocast too: a Function's backward runs outside autocast, so the wrappers hand it inputs and
weights already cast as autocast would cast a conv's (:func:`autocast_like`); the casts' own backward returns each
weight's gradient in the weight's dtype.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .banked_batch_norm import PLAIN_BATCH_NORMS
from .dilated_conv import DilatedConv2d, Geometry, conv_with_geometry, stride_one_input_gradient, subsampled


def _depthwise(x: torch.Tensor, weight: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    return conv_with_geometry(x, weight, None, geometry)


def _pointwise(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.convolution(h, weight, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)


def memory_layout(t: torch.Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a tensor dense in that layout (and not also contiguous), else contiguous."""
    if t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _backward(ctx, grad: torch.Tensor, x: torch.Tensor, need_x: bool, depthwise_weight: torch.Tensor,
              pointwise_weight: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
    """∇x, ∇depthwise weight, ∇pointwise weight of pointwise(depthwise(x)), recomputing depthwise(x) only for the
    pointwise weight gradient, and ∇x of a stride-1 depthwise conv as a conv (:func:`stride_one_input_gradient`);
    made of differentiable ops."""
    _, need_depthwise, need_pointwise = ctx.needs_input_grad[:3]
    step, stride, padding, dilation, groups = ctx.geometry
    if need_pointwise:
        h = _depthwise(x, depthwise_weight, ctx.geometry)  # the recomputation
    else:  # only its shape and layout are read
        h = torch.empty(ctx.h_shape, dtype=x.dtype, device=x.device, memory_format=ctx.h_format)
    grad_h, grad_pointwise, _ = torch.ops.aten.convolution_backward(
        grad, h, pointwise_weight, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
        [need_x or need_depthwise, need_pointwise, False])
    grad_x = grad_depthwise = None
    if need_x or need_depthwise:
        source = subsampled(x, step)
        grad_source = stride_one_input_gradient(grad_h, depthwise_weight, ctx.geometry) if need_x else None
        native_x = need_x and grad_source is None
        if native_x or need_depthwise:
            native_source, grad_depthwise, _ = torch.ops.aten.convolution_backward(
                grad_h, source, depthwise_weight, None, stride, padding, dilation, False, [0, 0], groups,
                [native_x, need_depthwise, False])
            grad_source = native_source if native_x else grad_source
        if need_x and step is not None:
            grad_x = torch.zeros_like(x)
            grad_x[:, :, ::step[0], ::step[1]] = grad_source
        else:
            grad_x = grad_source
    return grad_x, grad_depthwise, grad_pointwise


def _forward(ctx, x: torch.Tensor, depthwise_weight: torch.Tensor, pointwise_weight: torch.Tensor,
             geometry: Geometry) -> torch.Tensor:
    h = _depthwise(x, depthwise_weight, geometry)
    ctx.geometry, ctx.h_shape, ctx.h_format = geometry, h.shape, memory_layout(h)
    return _pointwise(h, pointwise_weight)


class DepthwisePointwise(torch.autograd.Function):
    """pointwise(depthwise(x)) that stores x, the two weights and nothing else."""

    @staticmethod
    def forward(ctx, x, depthwise_weight, pointwise_weight, geometry):
        ctx.save_for_backward(x, depthwise_weight, pointwise_weight)
        return _forward(ctx, x, depthwise_weight, pointwise_weight, geometry)

    @staticmethod
    def backward(ctx, grad):
        x, depthwise_weight, pointwise_weight = ctx.saved_tensors
        return _backward(ctx, grad, x, ctx.needs_input_grad[0], depthwise_weight, pointwise_weight) + (None, )


class NormReluDepthwisePointwise(torch.autograd.Function):
    """pointwise(depthwise(relu(bn(z)))) for a training-mode, affine-free bn (the middle of a separable conv) that
    stores only y = bn(z): relu(y) and ReLU's mask come from y, and so does BN's backward (y is the normalised z).
    One stored activation instead of two (z for the BN, relu(y) for the convs). Once differentiable: inside
    :func:`twice_differentiable` (``hvp='exact'``) the plain ops run instead."""

    @staticmethod
    def forward(ctx, z, depthwise_weight, pointwise_weight, geometry, running_mean, running_var, momentum, eps):
        y, _, invstd = torch.native_batch_norm(z, None, None, running_mean, running_var, True, momentum, eps)
        ctx.save_for_backward(y, depthwise_weight, pointwise_weight)
        ctx.invstd, ctx.eps = invstd, eps
        return _forward(ctx, torch.relu(y), depthwise_weight, pointwise_weight, geometry)

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():
            raise RuntimeError('NormReluDepthwisePointwise is differentiable once; run passes that need a double '
                               'backward inside mmdarts.models.ops.twice_differentiable()')
        y, depthwise_weight, pointwise_weight = ctx.saved_tensors
        need_z = ctx.needs_input_grad[0]
        grad_r, grad_depthwise, grad_pointwise = _backward(ctx, grad, torch.relu(y), need_z, depthwise_weight,
                                                           pointwise_weight)
        grad_z = None
        if need_z:
            grad_y = torch.ops.aten.threshold_backward(grad_r, y, 0)
            # BN's backward at its normalised output: input y, mean 0, 1/std 1, and the true 1/std as the scale.
            ones = torch.ones_like(ctx.invstd)
            grad_z, _, _ = torch.ops.aten.native_batch_norm_backward(
                grad_y, y, ctx.invstd, None, None, torch.zeros_like(ones), ones, True, ctx.eps, [True, False, False])
        return grad_z, grad_depthwise, grad_pointwise, None, None, None, None, None


_TWICE_DIFFERENTIABLE: ContextVar[bool] = ContextVar('mmdarts_twice_differentiable', default=False)


@contextmanager
def twice_differentiable() -> Iterator[None]:
    """Inside, the ops store what a double backward needs (``Darts(hvp='exact')``'s virtual pass)."""
    token = _TWICE_DIFFERENTIABLE.set(True)
    try:
        yield
    finally:
        _TWICE_DIFFERENTIABLE.reset(token)


def is_twice_differentiable() -> bool:
    """Whether the ops run inside :func:`twice_differentiable` now."""
    return _TWICE_DIFFERENTIABLE.get()


def autocast_dtype(x: torch.Tensor) -> Optional[torch.dtype]:
    """The dtype autocast runs a conv of ``x`` in on its device, or None outside autocast (or for non-float x)."""
    device = x.device.type
    if not x.is_floating_point() or not torch.is_autocast_enabled(device):
        return None
    return torch.get_autocast_dtype(device)


def autocast_like(function: Callable, cast: Sequence[torch.Tensor], *rest) -> torch.Tensor:
    """``function(*cast, *rest)``, where autocast is on for the first tensor's device: with the tensors of ``cast``
    (the input and the conv weights) cast to the dtype autocast computes a conv in, and autocast off inside.

    A custom autograd Function's forward sees autocast, but its backward does not: given float32 weights and a
    half-precision gradient, its convs' backward fails (``Input type (CPUBFloat16Type) and weight type
    (torch.FloatTensor) should be the same``). Casting before the Function, as autocast casts a conv's inputs, makes
    both directions run in one dtype; autograd takes each gradient back to its tensor's own dtype. ``rest`` (BN
    running statistics among them, updated in place) is passed as it is."""
    dtype = autocast_dtype(cast[0])
    if dtype is None:
        return function(*cast, *rest)
    with torch.autocast(cast[0].device.type, enabled=False):
        return function(*(t.to(dtype) for t in cast), *rest)


_DEFERRED_COUNTERS: ContextVar[Optional[List[torch.Tensor]]] = ContextVar('mmdarts_bn_counters', default=None)


def add_batch_counts(counters: List[torch.Tensor]) -> None:
    """Adds one batch to each of ``counters`` (BNs' ``num_batches_tracked``, or a bank of them): inside
    :func:`batched_batch_norm_counters` at its exit, with every other BN's, in one call; else now."""
    deferred = _DEFERRED_COUNTERS.get()
    if deferred is not None:
        deferred.extend(counters)
    else:
        torch._foreach_add_(counters, 1)


def batch_norm_momentum(bn: nn.BatchNorm2d) -> float:
    """The momentum of this forward, counting the batch as ``nn.BatchNorm2d.forward`` does (through
    :func:`add_batch_counts`)."""
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        if bn.momentum is not None:  # a fixed momentum does not read the count
            add_batch_counts([bn.num_batches_tracked])
        else:
            bn.num_batches_tracked.add_(1)
            momentum = 1.0 / float(bn.num_batches_tracked)
    return momentum


@contextmanager
def batched_batch_norm_counters() -> Iterator[None]:
    """Inside, the ``num_batches_tracked`` increments of the BNs that go through :func:`batch_norm_momentum` are
    collected and made at exit in one ``torch._foreach_add_`` call, not one call each (~900 in a supernet
    forward). The counts end as they would have; only a momentum of None reads them, and it adds at once."""
    token = _DEFERRED_COUNTERS.set([])
    try:
        yield
    finally:
        counters = _DEFERRED_COUNTERS.get()
        _DEFERRED_COUNTERS.reset(token)
        if counters:
            torch._foreach_add_(counters, 1)


def is_batched(x: torch.Tensor) -> bool:
    """Whether ``x`` is a tensor inside ``torch.func.vmap`` (a generic candidate batched over edges,
    :mod:`~mmdarts.models.search.generic_edges`), where the custom autograd Functions here have no batching rule."""
    return torch._C._functorch.is_batchedtensor(x)


def _geometry(x: torch.Tensor, depthwise: DilatedConv2d, pointwise: nn.Conv2d) -> Optional[Geometry]:
    """The depthwise conv's computed geometry if the pair can run as one function storing less, else None."""
    # traced: counters see the aten convs; batched (under vmap): no batching rule for a custom Function
    wanted = torch.is_grad_enabled() and not torch.jit.is_tracing() and not is_batched(x) and (
        x.requires_grad or depthwise.weight.requires_grad or pointwise.weight.requires_grad)
    if not wanted or not isinstance(depthwise, DilatedConv2d):
        return None
    plain = (depthwise.bias is not None or pointwise.bias is not None or pointwise.kernel_size != (1, 1)
             or pointwise.stride != (1, 1) or pointwise.padding != (0, 0) or pointwise.dilation != (1, 1)
             or pointwise.groups != 1 or pointwise.padding_mode != 'zeros')
    return None if plain else depthwise.computed_geometry(x)


def depthwise_pointwise(x: torch.Tensor, depthwise: DilatedConv2d, pointwise: nn.Conv2d) -> torch.Tensor:
    """``pointwise(depthwise(x))`` for bias-free convs, the pointwise one 1x1 with stride 1, storing only x for
    the backward (through :class:`DepthwisePointwise`) when a gradient is needed."""
    geometry = _geometry(x, depthwise, pointwise)
    if geometry is None:
        return pointwise(depthwise(x))
    return autocast_like(DepthwisePointwise.apply, (x, depthwise.weight, pointwise.weight), geometry)


def norm_relu_depthwise_pointwise(z: torch.Tensor, bn: nn.Module, act: nn.Module, depthwise: DilatedConv2d,
                                  pointwise: nn.Conv2d) -> torch.Tensor:
    """``pointwise(depthwise(act(bn(z))))``, storing only bn(z) (:class:`NormReluDepthwisePointwise`) where bn
    is a training-mode affine-free ``nn.BatchNorm2d`` and act an ``nn.ReLU``, outside
    :func:`twice_differentiable`; otherwise :func:`depthwise_pointwise` after the two modules."""
    geometry = _geometry(z, depthwise, pointwise)
    if (geometry is None or _TWICE_DIFFERENTIABLE.get() or type(bn) not in PLAIN_BATCH_NORMS or bn.affine
            or not bn.training or type(act) is not nn.ReLU):
        return depthwise_pointwise(act(bn(z)), depthwise, pointwise)
    tracked = bn.track_running_stats
    return autocast_like(NormReluDepthwisePointwise.apply, (z, depthwise.weight, pointwise.weight), geometry,
                         bn.running_mean if tracked else None, bn.running_var if tracked else None,
                         batch_norm_momentum(bn), bn.eps)
