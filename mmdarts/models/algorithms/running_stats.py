from contextlib import contextmanager
from typing import Iterator

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


@contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """Inside, no BatchNorm of ``module`` updates its running statistics (nor ``num_batches_tracked``).

    In training mode BN normalises with batch statistics whether it tracks them or not, so forwards are unchanged:
    this only stops DARTS' extra passes (L_val, the virtual and the ±ε passes) from polluting the statistics that
    evaluation uses. Modules in eval mode use their running statistics as usual.
    """
    switched = [m for m in module.modules() if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]
    for m in switched:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in switched:
            m.track_running_stats = True
