"""The building blocks of the DARTS CNN search space (Liu et al., 2019, Sec. 3.1.1 and its code).

Activations come from ``act_cfg`` (``dict(type='ReLU')`` in the paper), the name of a ``torch.nn`` class.
Every op keeps the channel count and divides the spatial size by its stride.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


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
        if self.stride == 1:
            return x.new_zeros(x.shape)
        return x.new_zeros(x[:, :, ::self.stride, ::self.stride].shape)


class ActConvBN(nn.Sequential):
    """activation - conv - BN, the preprocessing of cell inputs."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True, act_cfg: Optional[Dict] = dict(type='ReLU')):
        super().__init__(
            build_activation(act_cfg), nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False),
            nn.BatchNorm2d(out_channels, affine=affine))


def subsampled_geometry(stride: Tuple[int, int], padding, dilation: Tuple[int, int]
                        ) -> Optional[Tuple[int, int]]:
    """The padding of the undilated conv on ``x[..., ::d, ::d]`` that equals a conv whose stride and dilation
    are both d (> 1) in a dimension, or None where that does not hold (padding not a multiple of d, or a string).

    With stride = dilation = d and padding p = d·q, output (i, j) sums x[d(i + a − q), d(j + b − q)] · w[a, b]:
    the undilated conv, padding q, of the input's every d-th row and column, over the same terms.
    """
    if isinstance(padding, str) or stride != dilation or min(dilation) < 2:
        return None
    if any(p % d for p, d in zip(padding, dilation)):
        return None
    return tuple(p // d for p, d in zip(padding, dilation))


class DilatedConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and state dict) that computes a conv whose stride equals its dilation on
    the subsampled input, ``x[..., ::d, ::d]``, with the kernel undilated: the same terms summed (see
    :func:`subsampled_geometry`). On CPU, torch's dilated depthwise backward is slow; the subsampled conv's
    measures 3 to 6 times faster there (``docs/benchmarks.md``). Other devices and geometries use the plain conv.
    """

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]):
        padding = subsampled_geometry(self.stride, self.padding, self.dilation)
        if padding is None or self.padding_mode != 'zeros' or input.device.type != 'cpu':
            return super()._conv_forward(input, weight, bias)
        step_h, step_w = self.stride
        return F.conv2d(input[:, :, ::step_h, ::step_w], weight, bias, 1, padding, 1, self.groups)


class DilConv(nn.Sequential):
    """activation - depthwise (dilated) conv - pointwise conv - BN."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 dilation: int, affine: bool = True, act_cfg: Optional[Dict] = dict(type='ReLU')):
        super().__init__(
            build_activation(act_cfg),
            DilatedConv2d(in_channels, in_channels, kernel_size, stride, padding, dilation, groups=in_channels,
                          bias=False), nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels, affine=affine))


class SepConv(nn.Sequential):
    """Two :class:`DilConv` of dilation 1, the first with the stride: the paper's separable convolution."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True, act_cfg: Optional[Dict] = dict(type='ReLU')):
        super().__init__(
            DilConv(in_channels, in_channels, kernel_size, stride, padding, 1, affine, act_cfg),
            DilConv(in_channels, out_channels, kernel_size, 1, padding, 1, affine, act_cfg))


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_parts(x)

    def offset_grid(self, x: torch.Tensor) -> torch.Tensor:
        """What the stride-2 ``conv2`` reads of the paper's ``pad(x[:, :, 1:, 1:], (0, 1, 0, 1))``, every other row
        and column from (1, 1) on, as a view of x; a zero row/column at the end for an odd size, where the stride
        reaches the pad. conv2 then has stride 1 (set here), so no padded copy of x is made or stored."""
        odd_h, odd_w = x.shape[-2] % 2, x.shape[-1] % 2
        grid = x[:, :, 1::2, 1::2]
        return nn.functional.pad(grid, (0, odd_w, 0, odd_h)) if odd_h or odd_w else grid

    def forward_parts(self, x: torch.Tensor, skip_act: bool = False, skip_bn: bool = False) -> torch.Tensor:
        """The forward, optionally without its first activation (given an activated input) or its final BN."""
        x = x if skip_act else self.act(x)
        out = torch.cat([self.conv1(x), self.conv2(self.offset_grid(x))], dim=1)
        return out if skip_bn else self.bn(out)
