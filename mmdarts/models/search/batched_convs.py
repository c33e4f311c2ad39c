"""Depthwise convs of a wave that run as one: those that read different channels and differ only in kernel size
(a separable 3x3 and 5x5 conv's second stage) run as one conv, the smaller kernels zero-padded to the largest
(:func:`depthwise_runs`, :func:`pad_kernel`): the same taps, the padding grown by as much. The convs themselves
run in :class:`~mmdarts.models.functional.depthwise_pointwise.DepthwisesPointwise`."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..functional.conv_geometry import subsampled_geometry
from ..functional.depthwise_pointwise import WaveGeometry


def _merge_key(conv: nn.Conv2d) -> tuple:
    """Convs with equal keys compute the same taps around each output pixel once padded to one kernel size."""
    k, p, d = conv.kernel_size, conv.padding, conv.dilation
    return (tuple(conv.stride), tuple(d), tuple(di * (ki - 1) - 2 * pi for ki, pi, di in zip(k, p, d)),
            tuple(ki % 2 for ki in k))


def depthwise_runs(convs: Sequence[nn.Conv2d]) -> List[List[int]]:
    """Indices of ``convs`` (depthwise convs, each over its own channels) grouped into runs of consecutive convs
    that can run as one conv, their kernels zero-padded to the run's largest (:func:`merged_geometry`)."""
    runs: List[List[int]] = []
    for i, conv in enumerate(convs):
        if runs and _merge_key(convs[runs[-1][0]]) == _merge_key(conv):
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def merged_geometry(convs: Sequence[nn.Conv2d], subsample: bool) -> Tuple[WaveGeometry, Tuple[int, int]]:
    """``((step, stride, padding, dilation), kernel size)`` of the one conv that computes a run of ``convs``.
    ``subsample`` (the CPU's): a conv whose stride equals its dilation runs undilated on the input's every d-th
    row and column (:func:`~mmdarts.models.functional.conv_geometry.subsampled_geometry`), else with no step."""
    size = tuple(max(c.kernel_size[i] for c in convs) for i in range(2))
    first = convs[0]
    padding = tuple(first.padding[i] + first.dilation[i] * (size[i] - first.kernel_size[i]) // 2 for i in range(2))
    undilated = subsampled_geometry(tuple(first.stride), padding, tuple(first.dilation)) if subsample else None
    return undilated or (None, tuple(first.stride), padding, tuple(first.dilation)), size


def pad_kernel(weight: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``weight`` (``(..., kh, kw)``) centred in zeros of kernel size ``size``."""
    dh, dw = (size[0] - weight.shape[-2]) // 2, (size[1] - weight.shape[-1]) // 2
    return F.pad(weight, [dw, dw, dh, dh]) if dh or dw else weight


def crop_kernel(weight: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """The centre of kernel size ``size`` of ``weight`` (a view): the inverse of :func:`pad_kernel`."""
    dh, dw = (weight.shape[-2] - size[0]) // 2, (weight.shape[-1] - size[1]) // 2
    return weight.narrow(-2, dh, size[0]).narrow(-1, dw, size[1]) if dh or dw else weight


def kernel_mask(sizes: Sequence[Tuple[int, Sequence[int]]], size: Sequence[int]) -> Optional[torch.Tensor]:
    """``(rows, 1, *size)``: 1 on the taps of each row's own kernel, 0 on the padding, for ``sizes``
    ``[(rows, kernel size)]`` in row order; None where every kernel is ``size`` (nothing padded)."""
    if all(tuple(k) == tuple(size) for _, k in sizes):
        return None
    return torch.cat([pad_kernel(torch.ones(rows, 1, *k), size) for rows, k in sizes])


