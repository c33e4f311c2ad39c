"""The fast forms of a DARTS op's parts, chosen per call: a depthwise and a pointwise conv (and the BN and ReLU
before them) as one function storing less for the backward
(:mod:`~mmdarts.models.functional.depthwise_pointwise`), where a gradient is wanted and nothing rules it out; and
the BNs' batch counts added in one call per forward."""
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, List, Optional, Tuple

import torch
import torch.nn as nn

from ..functional.depthwise_pointwise import WaveGeometry, depthwises_pointwise
from ..functional.modes import is_plain
from .banked_batch_norm import PLAIN_BATCH_NORMS
from .dilated_conv import DilatedConv2d

_DEFERRED_COUNTERS: ContextVar[Optional[List[torch.Tensor]]] = ContextVar('mmdarts_bn_counters', default=None)


def add_batch_counts(counters: List[torch.Tensor]) -> None:
    """Adds one batch to each of ``counters`` (BNs' ``num_batches_tracked``, or a bank of them): inside
    :func:`batched_batch_norm_counters` at its exit, with every other BN's, in one call; else now."""
    deferred = _DEFERRED_COUNTERS.get()
    if deferred is not None:
        deferred.extend(counters)
    else:
        torch._foreach_add_(counters, 1)


def norm_arguments(bn: nn.BatchNorm2d) -> tuple:
    """(running mean, running var, momentum, eps) of a training-mode BN's forward: its running statistics where it
    tracks them (else None), the momentum of this forward, counting the batch as ``nn.BatchNorm2d.forward`` does
    (through :func:`add_batch_counts`)."""
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        if bn.momentum is not None:  # a fixed momentum does not read the count
            add_batch_counts([bn.num_batches_tracked])
        else:
            bn.num_batches_tracked.add_(1)
            momentum = 1.0 / float(bn.num_batches_tracked)
    tracked = bn.track_running_stats
    return (bn.running_mean if tracked else None, bn.running_var if tracked else None, momentum, bn.eps)


@contextmanager
def batched_batch_norm_counters() -> Iterator[None]:
    """Inside, the ``num_batches_tracked`` increments of the BNs that go through :func:`norm_arguments` are
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


def plain_depthwise(conv: nn.Module) -> bool:
    """A bias-free depthwise conv with zero padding (not a string)."""
    return (isinstance(conv, nn.Conv2d) and conv.bias is None and conv.padding_mode == 'zeros'
            and not isinstance(conv.padding, str) and conv.groups == conv.in_channels == conv.out_channels)


def plain_pointwise(conv: nn.Module, stride: Tuple[int, int] = (1, 1)) -> bool:
    """A bias-free 1x1 ``nn.Conv2d`` of one group, no padding, with ``stride``."""
    return (type(conv) is nn.Conv2d and conv.bias is None and conv.kernel_size == (1, 1) and conv.groups == 1
            and tuple(conv.stride) == stride and conv.padding == (0, 0) and conv.dilation == (1, 1))


def _geometry(x: torch.Tensor, depthwise: DilatedConv2d, pointwise: nn.Conv2d) -> Optional[WaveGeometry]:
    """The depthwise conv's computed (step, stride, padding, dilation) if the pair can run as one function storing
    less, else None."""
    # traced: counters see the aten convs; batched (under vmap): no batching rule for a custom Function
    wanted = (torch.is_grad_enabled() and not torch.jit.is_tracing() and not torch._C._functorch.is_batchedtensor(x)
              and not is_plain()
              and (x.requires_grad or depthwise.weight.requires_grad or pointwise.weight.requires_grad))
    if not wanted or not isinstance(depthwise, DilatedConv2d):
        return None
    return depthwise.computed_geometry(x) if plain_depthwise(depthwise) and plain_pointwise(pointwise) else None


def depthwise_pointwise(x: torch.Tensor, depthwise: DilatedConv2d, pointwise: nn.Conv2d) -> torch.Tensor:
    """``pointwise(depthwise(x))`` for bias-free convs, the pointwise one 1x1 with stride 1, storing only x for
    the backward (through :func:`depthwises_pointwise`, here of one depthwise conv) when a gradient is needed."""
    geometry = _geometry(x, depthwise, pointwise)
    if geometry is None:
        return pointwise(depthwise(x))
    return depthwises_pointwise(x, [depthwise.weight], pointwise.weight, [geometry], None, 1)


def norm_relu_depthwise_pointwise(z: torch.Tensor, bn: nn.Module, act: nn.Module, depthwise: DilatedConv2d,
                                  pointwise: nn.Conv2d) -> torch.Tensor:
    """``pointwise(depthwise(act(bn(z))))``, storing only bn(z) (:func:`depthwises_pointwise` with its ``norm``)
    where bn is a training-mode affine-free ``nn.BatchNorm2d`` and act an ``nn.ReLU``; otherwise
    :func:`depthwise_pointwise` after the two modules."""
    geometry = _geometry(z, depthwise, pointwise)
    if (geometry is None or type(bn) not in PLAIN_BATCH_NORMS or bn.affine or not bn.training
            or type(act) is not nn.ReLU):
        return depthwise_pointwise(act(bn(z)), depthwise, pointwise)
    return depthwises_pointwise(z, [depthwise.weight], pointwise.weight, [geometry], None, 1, norm=norm_arguments(bn))
