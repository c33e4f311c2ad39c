"""The passes of a :class:`Darts` search step as captured graphs (:mod:`mmdarts.models.algorithms.captured_passes`).

Each function returns what the eager pass returns, from a replayed graph, or None where the pass runs eagerly (no
capturer, a batch that cannot be captured, a wrapper that accumulates gradients). The captured function reads,
besides its inputs (the batches, ξ), only tensors named in its signature, so a new tensor in their place (a
resumed optimizer's momentum buffers) or a new value of a scalar it bakes in (GDAS's τ) captures it again.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from .arch_gradient import sgd_hyperparameters
from .captured_passes import Batch, PassCapturer, batch_signature, relabeled, tensor_addresses
from .second_order import unregularized_arch_gradients


def weights_and_buffers(module: nn.Module) -> Tuple[List[nn.Parameter], List[torch.Tensor]]:
    """The weights (parameters that need a gradient, in ``named_parameters`` order) and the buffers of ``module``,
    in one walk over its modules (a walk is host time on a GPU step's critical path, ``docs/benchmarks.md``)."""
    weights, buffers, seen = [], [], set()
    for child in module.modules():
        for p in child._parameters.values():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                if p.requires_grad:
                    weights.append(p)
        buffers.extend(b for b in child._buffers.values() if b is not None)
    return weights, buffers


def read_signature(model, weights: List[torch.Tensor], buffers: List[torch.Tensor]) -> tuple:
    """What both captured passes of ``model`` bake in besides their inputs: the memory of the tensors they read
    (the weights, α, the architecture's buffers), the modes, and the mutator's scalars (GDAS's temperature)."""
    read = list(weights) + list(model.mutator.parameters()) + list(buffers)
    return (model.training, model.mutator.training, getattr(model.mutator, 'tau', None), model.memory_format,
            tensor_addresses(read))


def gradients_outside_the_wrapper(wrapper: OptimWrapper) -> bool:
    """Whether the weight gradients can be taken by ``torch.autograd.grad`` and set as ``.grad``, scaled as the
    wrapper's backward would: a plain or AMP wrapper that does not accumulate over iterations."""
    return type(wrapper) in (OptimWrapper, AmpOptimWrapper) and getattr(wrapper, '_accumulative_counts', 1) == 1


def scaled_for_backward(loss: torch.Tensor, wrapper: OptimWrapper) -> torch.Tensor:
    """``loss`` as the wrapper's backward differentiates it (times GradScaler's scale under AMP)."""
    return wrapper.loss_scaler.scale(loss) if isinstance(wrapper, AmpOptimWrapper) else loss


def captured_weight_gradients(model, capturer: Optional[PassCapturer], weights: List[torch.Tensor], read: tuple,
                              train_batch: Batch, weight_wrapper: OptimWrapper, noise: Optional[Dict[str, torch.Tensor]]
                              ) -> Optional[Tuple[torch.Tensor, Dict[str, torch.Tensor], List[torch.Tensor]]]:
    """The weight step's loss, log and weight gradients (None for an unused weight) from a replayed pass: in the
    AMP wrapper's autocast (without its weight-cast cache, which a capture would keep) and scaled by its
    GradScaler's scale, read from the scale's tensor, as the wrapper's backward scales them. ``weights``: the
    model's, in ``_weights()`` order; ``read``: their :func:`read_signature`; ``noise``: SDARTS-RS's draw for
    the op weights (an input of the pass), or None."""
    amp = isinstance(weight_wrapper, AmpOptimWrapper)
    batch = batch_signature(train_batch) if capturer is not None else None
    scaler = weight_wrapper.loss_scaler if amp else None
    # GradScaler makes its scale tensor at its first use: eagerly, never inside a graph (in the graph's memory)
    if batch is None or not gradients_outside_the_wrapper(weight_wrapper) or (amp and scaler._scale is None):
        return None
    signature, tensors = batch
    device = train_batch['inputs'].device.type

    noise_keys = sorted(noise or {})

    def weight_pass(inputs, labels, *noise_values):
        with torch.autocast(device, dtype=getattr(weight_wrapper, 'cast_dtype', None), enabled=amp,
                            cache_enabled=False):
            loss, log_vars = model.loss_and_log(relabeled(train_batch, inputs, labels), detach_alpha=True,
                                                noise=dict(zip(noise_keys, noise_values)) if noise else None)
        return loss.detach(), log_vars, list(torch.autograd.grad(scaled_for_backward(loss, weight_wrapper), weights,
                                                                 allow_unused=True))

    scale = tensor_addresses([scaler._scale]) if amp else ()  # GradScaler updates it in place
    inputs = list(tensors) + [noise[key] for key in noise_keys]
    return capturer.run('weight step', (signature, amp, read, scale, tuple(noise_keys)), weight_pass, inputs)


def captured_arch_gradients(model, capturer: Optional[PassCapturer], weights: List[torch.Tensor], read: tuple,
                            train_batch: Batch, arch_batch: Batch, weight_optimizer: torch.optim.Optimizer
                            ) -> Optional[Tuple[List[torch.Tensor], Dict[str, torch.Tensor], list]]:
    """The α step's gradient before the regularisers, its log and its pass losses from a replayed pass (the
    Gumbel draw of GDAS made inside it, a fresh one at each replay); ξ is read from a 0-dim tensor. ``weights``,
    ``read``: as for :func:`captured_weight_gradients`."""
    batches = [train_batch, arch_batch] if model.unroll else [arch_batch]
    captured = [batch_signature(b) for b in batches] if capturer is not None else [None]
    if None in captured:
        return None
    hyper, lr = None, []
    if model.unroll:  # the momentum buffers too: a resumed optimizer brings new ones
        xi, momentums, decays, buffers = sgd_hyperparameters(weight_optimizer, weights)
        hyper = (tuple(momentums), tuple(decays), tensor_addresses(buffers))
        lr = [torch.full((), xi, dtype=weights[0].dtype, device=weights[0].device)]  # ξ follows the schedule

    def arch_pass(*tensors):
        pass_losses: List[Tuple[str, torch.Tensor]] = []
        inputs = [relabeled(b, x, y) for b, x, y in zip(batches, tensors[0:4:2], tensors[1:4:2])]
        with model.mutator.fixed_sample():
            grads, log_vars = unregularized_arch_gradients(model, inputs[0], inputs[-1], weight_optimizer,
                                                           pass_losses.append, *tensors[2 * len(batches):])
        return grads, log_vars, pass_losses

    tensors = [t for _, pair in captured for t in pair] + lr
    signature = (tuple(s for s, _ in captured), model.unroll, model.hvp, model.epsilon_scale, hyper, read)
    return capturer.run('α step', signature, arch_pass, tensors)
