"""The building blocks of the DARTS CNN search space (Liu et al., 2019, Sec. 3.1.1 and its code).

Activations come from ``act_cfg`` (``dict(type='ReLU')`` in the paper), the name of a ``torch.nn`` class.
Every op keeps the channel count and divides the spatial size by its stride.
"""
from typing import Dict, Optional

import torch
import torch.nn as nn

from ..functional.modes import is_plain
from .dilated_conv import DilatedConv2d
from .recomputed_conv import depthwise_pointwise, norm_relu_depthwise_pointwise


def build_activation(act_cfg: Optional[Dict]) -> nn.Module:
    """Builds ``torch.nn.<type>(**rest)`` from ``act_cfg``; ``None`` gives ``nn.Identity``."""
    if act_cfg is None:
        return nn.Identity()
    if not isinstance(act_cfg, dict) or 'type' not in act_cfg:
        raise ValueError(f'act_cfg must be a dict with a "type", e.g. dict(type="ReLU"); got {act_cfg!r}')
    cfg = dict(act_cfg)
    name = cfg.pop('type')
    cls = getattr(nn, name, None) if isinstance(name, str) else name
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f'act_cfg: unknown activation type {name!r}; expected a torch.nn class name such as '
                         "'ReLU', 'GELU' or 'Softplus'")
    return cls(**cfg)


class Zero(nn.Module):
    """The ``none`` op: an output of zeros, with the spatial size divided by ``stride``."""

    def __init__(self, stride: int = 1):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x[:, :, ::self.stride, ::self.stride].shape)


def on_batch_statistics(bn: nn.Module) -> bool:
    """Whether ``bn`` normalises with its batch's statistics and moves no running ones (training, not tracking:
    inside the α step's ``frozen_running_stats``): then one BN over several weight copies' channels normalises each
    copy as its own BN would."""
    return bn.training and not bn.track_running_stats


def grouped_by_copy(x: torch.Tensor, conv: nn.Conv2d, copies: int) -> torch.Tensor:
    """``conv`` on ``x`` holding ``copies`` weight copies side by side (``(N, copies·C, H, W)``, the conv's weight
    the copies' weights one after the other): one conv with ``copies`` times the groups."""
    return nn.functional.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation,
                                conv.groups * copies)


def copies_supported(act: nn.Module, convs, bn: nn.Module) -> bool:
    """Whether activation - convs - BN compute several weight copies side by side (:func:`grouped_by_copy`):
    plain convs, a BN on batch statistics, an activation without weights of its own (it acts on every copy
    alike)."""
    return (all(type(conv) is nn.Conv2d for conv in convs) and type(bn) is nn.BatchNorm2d and on_batch_statistics(bn)
            and next(act.parameters(), None) is None)


class ActConvBN(nn.Sequential):
    """activation - conv - BN, the preprocessing of cell inputs."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True, act_cfg: Optional[Dict] = dict(type='ReLU')):
        super().__init__(
            build_activation(act_cfg), nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False),
            nn.BatchNorm2d(out_channels, affine=affine))

    def forward(self, x: torch.Tensor, copies: int = 1) -> torch.Tensor:
        """``copies`` > 1: ``x`` and the weights hold that many copies side by side (a twin pass)."""
        act, conv, bn = self
        return bn(conv(act(x)) if copies == 1 else grouped_by_copy(act(x), conv, copies))

    def copies_supported(self) -> bool:
        act, conv, bn = self
        return copies_supported(act, [conv], bn)


class DilConv(nn.Sequential):
    """activation - depthwise (dilated) conv - pointwise conv - BN."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 dilation: int, affine: bool = True, act_cfg: Optional[Dict] = dict(type='ReLU')):
        super().__init__(
            build_activation(act_cfg),
            DilatedConv2d(in_channels, in_channels, kernel_size, stride, padding, dilation, groups=in_channels,
                          bias=False), nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels, affine=affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The two convs store only their input for the backward (:func:`depthwise_pointwise`)."""
        act, depthwise, pointwise, bn = self
        return bn(depthwise_pointwise(act(x), depthwise, pointwise))


class SepConv(nn.Sequential):
    """Two :class:`DilConv` of dilation 1, the first with the stride: the paper's separable convolution."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True, act_cfg: Optional[Dict] = dict(type='ReLU')):
        super().__init__(
            DilConv(in_channels, in_channels, kernel_size, stride, padding, 1, affine, act_cfg),
            DilConv(in_channels, out_channels, kernel_size, 1, padding, 1, affine, act_cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Each half's two convs store only their input for the backward, and between the halves BN - ReLU -
        depthwise - pointwise store only the BN's output (:func:`norm_relu_depthwise_pointwise`)."""
        (act1, depthwise1, pointwise1, bn1), (act2, depthwise2, pointwise2, bn2) = self
        z = depthwise_pointwise(act1(x), depthwise1, pointwise1)
        return bn2(norm_relu_depthwise_pointwise(z, bn1, act2, depthwise2, pointwise2))


def even_grid_conv(x: torch.Tensor, weight: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """The reduce skip's stride-2 1x1 conv of ``x`` (bias-free, grouped in ``groups``). A channels-last CPU input of
    fewer than 8 channels per group is read as the view ``x[:, :, ::2, ::2]`` by a stride-1 conv instead (the same
    sums): for that conv's weight gradient torch 2.13's oneDNN writes past its buffers on AVX2 CPUs (heap
    corruption: a crash or a hang; README "Stack notes")."""
    # strides torch reads as channels-last, a 1-channel tensor's included (dense both ways)
    if x.device.type == 'cpu' and weight.shape[1] < 8 and x.is_contiguous(memory_format=torch.channels_last):
        return nn.functional.conv2d(x[:, :, ::2, ::2], weight, None, 1, 0, 1, groups)
    return nn.functional.conv2d(x, weight, None, 2, 0, 1, groups)


class FactorizedReduce(nn.Module):
    """Halves the spatial size with two stride-2 1x1 convs on offset grids, concatenated (the reduce skip)."""

    def __init__(self, in_channels: int, out_channels: int, affine: bool = True,
                 act_cfg: Optional[Dict] = dict(type='ReLU')):
        super().__init__()
        if out_channels % 2:
            raise ValueError(f'FactorizedReduce: out_channels must be even, got {out_channels}')
        self.act = build_activation(act_cfg)
        self.conv1 = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(in_channels, out_channels // 2, 1, stride=1, bias=False)  # on offset_grid(x)
        self.bn = nn.BatchNorm2d(out_channels, affine=affine)

    def forward(self, x: torch.Tensor, copies: int = 1) -> torch.Tensor:
        """``copies`` > 1: ``x`` and the weights hold that many copies side by side (a twin pass)."""
        x = self.act(x)
        if copies == 1:
            return self.bn(self.reduced(x))
        halves = [grouped_by_copy(x, self.conv1, copies), grouped_by_copy(self.offset_grid(x), self.conv2, copies)]
        n, _, h, w = halves[0].shape  # each copy's channels: its conv1's, then its conv2's
        return self.bn(torch.stack([t.view(n, copies, -1, h, w) for t in halves], 2).view(n, -1, h, w))

    def copies_supported(self) -> bool:
        return copies_supported(self.act, [self.conv1, self.conv2], self.bn)

    def offset_grid(self, x: torch.Tensor) -> torch.Tensor:
        """What the stride-2 ``conv2`` reads of the paper's ``pad(x[:, :, 1:, 1:], (0, 1, 0, 1))``, every other row
        and column from (1, 1) on, as a view of x; a zero row/column at the end for an odd size, where the stride
        reaches the pad. conv2 then has stride 1 (set here), so no padded copy of x is made or stored."""
        odd_h, odd_w = x.shape[-2] % 2, x.shape[-1] % 2
        grid = x[:, :, 1::2, 1::2]
        return nn.functional.pad(grid, (0, odd_w, 0, odd_h)) if odd_h or odd_w else grid

    def reduced(self, x: torch.Tensor) -> torch.Tensor:
        """The two convs of the activated ``x``, concatenated: the forward before its BN."""
        if is_plain():  # the paper's: conv2 with stride 2 on a zero-padded shifted copy
            second = nn.functional.conv2d(nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1)), self.conv2.weight, None, 2)
        else:
            second = self.conv2(self.offset_grid(x))
        return torch.cat([even_grid_conv(x, self.conv1.weight), second], dim=1)
