from contextlib import contextmanager
from functools import partial
from typing import Iterator, List

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..search import SearchCell


def _restore(state: List[torch.Tensor], saved: List[torch.Tensor], *hook_args) -> None:
    """Copies ``saved`` into ``state``; as a forward pre-hook it returns None, so the forward's inputs stay."""
    torch._foreach_copy_(state, saved)


@contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """Inside, no BatchNorm of ``module`` updates its running statistics (nor ``num_batches_tracked``), and the
    running state a candidate op keeps of its own (the buffers of its modules other than BN) is put back as it was
    at entry before every forward of its search cell, and on exit.

    In training mode BN normalises with batch statistics whether it tracks them or not, so forwards are unchanged:
    this only stops DARTS' extra passes (L_val, the virtual and the ±ε passes) from polluting the statistics that
    evaluation uses. Modules in eval mode use their running statistics as usual. Each pass reads a candidate's own
    state as the step found it, whether the passes run one after the other or as one twin pass.
    """
    switched = [m for m in module.modules() if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]
    kept = []  # (cell, its candidates' own buffers, their values at entry)
    for cell in (m for m in module.modules() if isinstance(m, SearchCell)):
        state = [b for m in cell.mixed_ops.modules() if not isinstance(m, _BatchNorm) for b in m.buffers(False)]
        if state:
            kept.append((cell, state, [b.clone() for b in state]))
    hooks = [cell.register_forward_pre_hook(partial(_restore, state, saved)) for cell, state, saved in kept]
    for m in switched:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in switched:
            m.track_running_stats = True
        for hook, (_, state, saved) in zip(hooks, kept):
            hook.remove()
            _restore(state, saved)
