"""How a conv is computed: on the subsampled input where its stride equals its dilation (exact, and faster on CPU),
and the input gradient of a stride-1 depthwise conv as a conv with the flipped kernel."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

# (step of the input's subsampling or None, stride, padding, dilation) of a conv as it is computed
WaveGeometry = Tuple[Optional[Tuple[int, int]], Tuple[int, int], Tuple[int, int], Tuple[int, int]]


def subsampled(x: torch.Tensor, step: Optional[Tuple[int, int]]) -> torch.Tensor:
    """Every ``step``-th row and column of ``x`` (a view), or x itself for no step."""
    return x if step is None else x[:, :, ::step[0], ::step[1]]


def stride_one_input_gradient(grad: torch.Tensor, weight: torch.Tensor, geometry: WaveGeometry, groups: int
                              ) -> Optional[torch.Tensor]:
    """∇ of a stride-1 conv's (subsampled) input for ``grad`` at its output, as the forward conv of ``grad`` with
    the kernel flipped and swapped in/out channels, padding d(k − 1) − p; None where that does not apply (a stride
    other than 1, p > d(k − 1), groups with more than one channel in, or a device other than CPU).

    A stride-1 conv sums x[i + d·a − p] · w[a]; its adjoint sends g[i] to every x[i + d·a − p], that is
    ∇x[j] = Σ_a g[j − d·a + p] · w[a] = Σ_b g[j + d·b − p'] · w[k − 1 − b] with p' = d(k − 1) − p: a conv with the
    flipped kernel. Made of differentiable ops (a double backward sees the same function). On CPU torch's backward
    of depthwise convs is several times slower than its forward for dilated or 5x5 kernels (``docs/benchmarks.md``).
    """
    _, stride, padding, dilation = geometry
    if grad.device.type != 'cpu' or tuple(stride) != (1, 1) or weight.shape[1] != 1:
        return None
    flipped_padding = tuple(d * (k - 1) - p for d, k, p in zip(dilation, weight.shape[2:], padding))
    if min(flipped_padding) < 0:
        return None
    # weight (groups·m, 1, kh, kw) -> the adjoint's (groups, m, kh, kw): each group sums its m output channels
    adjoint = weight.flip(-2, -1).reshape(groups, weight.shape[0] // groups, *weight.shape[2:])
    return F.conv2d(grad, adjoint, None, 1, flipped_padding, dilation, groups)


def subsampled_geometry(stride: Tuple[int, int], padding, dilation: Tuple[int, int]) -> Optional[WaveGeometry]:
    """(step d, stride 1, padding q, dilation 1): the undilated conv on ``x[..., ::d, ::d]`` that equals a conv
    whose stride and dilation are both d (> 1) in a dimension, or None where that does not hold (padding not a
    multiple of d, or a string).

    With stride = dilation = d and padding p = d·q, output (i, j) sums x[d(i + a − q), d(j + b − q)] · w[a, b]:
    the undilated conv, padding q, of the input's every d-th row and column, over the same terms.
    """
    if isinstance(padding, str) or stride != dilation or min(dilation) < 2:
        return None
    if any(p % d for p, d in zip(padding, dilation)):
        return None
    return stride, (1, 1), tuple(p // d for p, d in zip(padding, dilation)), (1, 1)
