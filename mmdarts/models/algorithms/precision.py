"""The precision the α step computes in, whatever the caller's autocast and TF32 settings.

Eq. 8 perturbs the weights by ε·v with ‖ε·v‖ = 0.01 over ~1.9M weights: about 1e-4 relative per weight, below the
rounding of TF32 (~5e-4) and of half precision: in TF32, w⁺ and w⁻ partly reach the convolutions as the same
numbers and the finite difference shrinks (measured in ``docs/benchmarks.md``, "Precision"). So every pass of the α
step runs in float32: autocast off, and float32 convolutions and matmuls in IEEE float32 on cuDNN, cuBLAS and oneDNN.
"""
from contextlib import ExitStack, contextmanager
from functools import reduce
from typing import Iterator, List, Sequence, Tuple

import torch

# torch.backends entries with an `fp32_precision` ('ieee', 'tf32', 'bf16' or 'none' to inherit), torch >= 2.9
PRECISION_FLAGS = ('cuda.matmul', 'cudnn.conv', 'cudnn.rnn', 'mkldnn.matmul', 'mkldnn.conv', 'mkldnn.rnn')
# the older switches, for a torch without `fp32_precision`
LEGACY_TF32_FLAGS = ('cuda.matmul', 'cudnn')
AUTOCAST_DEVICES = ('cpu', 'cuda', 'xpu', 'mps', 'hpu', 'npu', 'mlu', 'musa')


def _switches(paths: Sequence[str], attr: str) -> List[Tuple[object, str]]:
    """``(entry, attr)`` for each ``torch.backends`` entry at ``paths`` that this torch has, with ``attr``."""
    entries = [reduce(lambda entry, part: getattr(entry, part, None), path.split('.'), torch.backends)
               for path in paths]
    return [(entry, attr) for entry in entries if hasattr(entry, attr)]


def _precision_switches() -> List[Tuple[object, str]]:
    """``(object, attribute)`` pairs that, set to IEEE float32, turn TF32 (and bf16 for float32) off."""
    return _switches(PRECISION_FLAGS, 'fp32_precision') or _switches(LEGACY_TF32_FLAGS, 'allow_tf32')


def _autocast_enabled(device: str) -> bool:
    try:
        return torch.is_autocast_enabled(device)
    except (RuntimeError, TypeError):  # a device type this torch does not know
        return False


@contextmanager
def full_precision() -> Iterator[None]:
    """Inside: autocast off on every device, and float32 convolutions and matmuls computed in IEEE float32 (no TF32)
    on cuDNN, cuBLAS and oneDNN; the caller's settings are restored on exit, also after an error."""
    switches = _precision_switches()
    saved = [getattr(entry, attr) for entry, attr in switches]
    with ExitStack() as stack:
        for device in AUTOCAST_DEVICES:
            if _autocast_enabled(device):
                stack.enter_context(torch.autocast(device, enabled=False))
        try:
            for entry, attr in switches:
                setattr(entry, attr, 'ieee' if attr == 'fp32_precision' else False)
            yield
        finally:
            for (entry, attr), value in zip(switches, saved):
                setattr(entry, attr, value)


def float32_is_ieee() -> bool:
    """Whether every switch :func:`full_precision` sets holds IEEE float32 now (no TF32, no bf16 for float32)."""
    return all(getattr(entry, attr) in ('ieee', False) for entry, attr in _precision_switches())
