"""Dilated convolutions computed on the subsampled input where that is exact and faster."""
from typing import Optional

import torch
import torch.nn as nn

from ..functional.conv_geometry import WaveGeometry, subsampled, subsampled_geometry
from ..functional.modes import is_plain


class DilatedConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and state dict) that computes a conv whose stride equals its dilation on
    the subsampled input, ``x[..., ::d, ::d]``, with the kernel undilated: the same terms summed (see
    :func:`subsampled_geometry`). On CPU, torch's dilated depthwise backward is slow; the subsampled conv's
    measures 3 to 6 times faster there (``docs/benchmarks.md``). Other devices and geometries use the plain conv.
    """

    def computed_geometry(self, x: torch.Tensor) -> Optional[WaveGeometry]:
        """How this conv is computed on ``x``: subsampled (a step, then stride and dilation 1) or as declared;
        None for what only ``nn.Conv2d`` computes (string padding, a padding mode other than zeros)."""
        if isinstance(self.padding, str) or self.padding_mode != 'zeros':
            return None
        undilated = subsampled_geometry(self.stride, self.padding, self.dilation) if x.device.type == 'cpu' else None
        return undilated or (None, self.stride, self.padding, self.dilation)

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]):
        geometry = None if is_plain() else self.computed_geometry(input)
        if geometry is None:
            return super()._conv_forward(input, weight, bias)
        step, stride, padding, dilation = geometry
        return nn.functional.conv2d(subsampled(input, step), weight, bias, stride, padding, dilation, self.groups)
