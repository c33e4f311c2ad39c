"""How far a float32 second-order α step lies from the same step in float64, and from another float32 computation.

Eq. 8's finite difference is ill-conditioned: two float32 computations of one step that differ only in the order of
their roundings (channels-last against contiguous inputs) give second-order terms 11-19 % apart at realistic sizes.
A path is therefore judged by its error against float64 *relative to that floor*, never against a fixed float32
tolerance. Used by the CUDA precision test and ``tools/benchmark.py --precision``.
"""
import copy
from typing import Dict, List, Tuple
from unittest.mock import patch

import torch

from mmdarts.models import Darts


def _relative(a: List[torch.Tensor], b: List[torch.Tensor], reference: List[torch.Tensor]) -> float:
    """‖a − b‖ / ‖reference‖ over all tensors, in float64."""
    a, b, reference = (torch.cat([t.double().reshape(-1) for t in x]) for x in (a, b, reference))
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(reference).clamp_min(1e-300))


def alpha_gradient_and_term(model: Darts, train: Dict, arch: Dict, optimizer: torch.optim.Optimizer
                            ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
    """The α gradient a second-order step applies (Eq. 7) and its second-order term ξ·∇²α,w L_train·∇w' L_val,
    taken from :meth:`Darts.arch_gradients` itself (the term is read where Eq. 7 combines it)."""
    from mmdarts.models.algorithms import second_order
    seen = {}
    combine = second_order.unrolled_arch_gradient

    def recording(grads_val, hvp, lr):
        seen['term'] = [lr * h.detach() for h in hvp]
        return combine(grads_val, hvp, lr)

    with patch.object(second_order, 'unrolled_arch_gradient', recording):
        grads, _ = model.arch_gradients(train, arch, optimizer)
    return [g.detach() for g in grads], seen['term']


def _batch(batch: Dict, dtype: torch.dtype, layout: torch.memory_format) -> Dict:
    return dict(batch, inputs=batch['inputs'].to(dtype).contiguous(memory_format=layout))


def precision_report(model: Darts, train: Dict, arch: Dict, lr: float = 0.025, momentum: float = 0.9,
                     weight_decay: float = 3e-4) -> Dict[str, float]:
    """The second-order α gradient of ``model`` (float32, second order) on preprocessed batches, computed three ways
    with the same weights, α, BN buffers and SGD hyperparameters (momentum buffers absent, as in a first step):
    float32 contiguous (as the caller's flags and the model's own precision handling leave it), float32
    channels-last, float64. Returns relative errors (2-norm over all α, divided by the float64 norm) against float64
    of the whole α gradient and of its second-order term, for both float32 layouts, and ``floor_*``: the two
    float32 results against each other.
    """
    results = {}
    for key, dtype, layout in (('contiguous', torch.float32, torch.contiguous_format),
                               ('channels_last', torch.float32, torch.channels_last),
                               ('float64', torch.float64, torch.contiguous_format)):
        twin = copy.deepcopy(model).to(dtype).train()
        twin.load_state_dict(model.state_dict())  # the same weights, α and BN buffers, cast
        twin.unroll = True
        optimizer = torch.optim.SGD(twin.architecture.parameters(), lr=lr, momentum=momentum,
                                    weight_decay=weight_decay)
        results[key] = alpha_gradient_and_term(twin, _batch(train, dtype, layout), _batch(arch, dtype, layout),
                                               optimizer)
        del twin
    g64, t64 = results['float64']
    report = {}
    for key in ('contiguous', 'channels_last'):
        grads, term = results[key]
        report[f'alpha_error_{key}'] = _relative(grads, g64, g64)
        report[f'term_error_{key}'] = _relative(term, t64, t64)
    report['floor_alpha'] = _relative(results['contiguous'][0], results['channels_last'][0], g64)
    report['floor_term'] = _relative(results['contiguous'][1], results['channels_last'][1], t64)
    return report
