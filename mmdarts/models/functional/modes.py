"""The modes the autograd Functions here consult: a double backward to come (:func:`twice_differentiable`),
autocast (:func:`autocast_like`), a tensor's memory layout."""
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, Optional, Sequence

import torch


def memory_layout(t: torch.Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a tensor dense in that layout (and not also contiguous), else contiguous."""
    if t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


_TWICE_DIFFERENTIABLE: ContextVar[bool] = ContextVar('mmdarts_twice_differentiable', default=False)
_PLAIN: ContextVar[bool] = ContextVar('mmdarts_plain_ops', default=False)


@contextmanager
def _switched_on(mode: ContextVar) -> Iterator[None]:
    token = mode.set(True)
    try:
        yield
    finally:
        mode.reset(token)


def twice_differentiable():
    """Inside, the ops store what a double backward needs (``Darts(hvp='exact')``'s virtual pass)."""
    return _switched_on(_TWICE_DIFFERENTIABLE)


def is_twice_differentiable() -> bool:
    """Whether the ops run inside :func:`twice_differentiable` now."""
    return _TWICE_DIFFERENTIABLE.get()


def plain_ops():
    """Inside, the ops compute as the paper's code does, each by torch's own kernels: no recomputing Function,
    dilated convs as dilated convs, the reduce skip on a padded copy. The same numbers; the benchmark's baseline
    (:class:`~mmdarts.testing.StraightforwardDarts`) and the tests' independent computations run so."""
    return _switched_on(_PLAIN)


def is_plain() -> bool:
    """Whether the ops run inside :func:`plain_ops` now."""
    return _PLAIN.get()


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
