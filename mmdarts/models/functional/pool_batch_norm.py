"""A pool followed by a training-mode BN that stores only the pool's input (the pool recomputed in the backward)."""
from typing import Callable, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.utils import _pair


def pool_and_backward(pool: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """``pool(x)`` and the function giving ∇x from ∇pool(x), through torch's own pool kernels (differentiable
    ops, so a graph of the backward can be built)."""
    kernel, stride, padding = _pair(pool.kernel_size), _pair(pool.stride), _pair(pool.padding)
    if isinstance(pool, nn.MaxPool2d):
        dilation, ceil = _pair(pool.dilation), pool.ceil_mode
        out, indices = torch.ops.aten.max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil)
        return out, lambda grad: torch.ops.aten.max_pool2d_with_indices_backward(grad, x, kernel, stride, padding,
                                                                                 dilation, ceil, indices)
    args = (pool.ceil_mode, pool.count_include_pad, pool.divisor_override)
    out = torch.ops.aten.avg_pool2d(x, kernel, stride, padding, *args)
    return out, lambda grad: torch.ops.aten.avg_pool2d_backward(grad, x, kernel, stride, padding, *args)


class RecomputedPoolBatchNorm(torch.autograd.Function):
    """``scale * bn(pool(x))`` in training mode that stores x, not pool(x) (nor max-pool indices): the backward
    recomputes pool(x). Same statistics, running-statistics update and gradients; twice differentiable (the
    backward is made of differentiable ops, so ``hvp='exact'`` can build a graph of it)."""

    @staticmethod
    def forward(ctx, x, scale, pool, running_mean, running_var, momentum, eps):
        pooled, _ = pool_and_backward(pool, x)
        out, mean, invstd = torch.native_batch_norm(pooled, scale, None, running_mean, running_var, True, momentum,
                                                    eps)
        ctx.save_for_backward(x, scale)
        ctx.pool, ctx.eps, ctx.mean, ctx.invstd = pool, eps, mean, invstd
        return out

    @staticmethod
    def backward(ctx, grad):
        x, scale = ctx.saved_tensors
        pooled, pool_backward = pool_and_backward(ctx.pool, x)
        grad_pooled, grad_scale, _ = torch.ops.aten.native_batch_norm_backward(
            grad, pooled, scale, None, None, ctx.mean, ctx.invstd, True, ctx.eps,
            [True, ctx.needs_input_grad[1], False])
        grad_x = pool_backward(grad_pooled) if ctx.needs_input_grad[0] else None
        return grad_x, grad_scale, None, None, None, None, None
