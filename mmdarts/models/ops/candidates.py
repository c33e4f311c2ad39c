"""The DARTS primitives (Liu et al., 2019, Sec. 3.1.1), registered in ``CANDIDATE_OPS`` by name.

A builder takes ``(channels, stride, affine, act_cfg)``. Pools are plain pools here; the search cell's mixed op
follows ops whose name contains ``pool`` with a BN, as the paper's search code does (the retrained network does
not). Register more with ``@CANDIDATE_OPS.register_module('my_op')`` and name them in a supernet's ``primitives``.
"""
from typing import Callable, Dict, List, Optional, Sequence

import torch.nn as nn

from mmdarts.registry import CANDIDATE_OPS

from .darts_ops import DilConv, FactorizedReduce, SepConv, Zero

# the paper's eight ops, in its order: name -> builder(channels, stride, affine, act_cfg)
_DARTS_OPS: Dict[str, Callable[..., nn.Module]] = {
    'none': lambda c, stride, affine, act: Zero(stride),
    'max_pool_3x3': lambda c, stride, affine, act: nn.MaxPool2d(3, stride, padding=1),
    'avg_pool_3x3': lambda c, stride, affine, act: nn.AvgPool2d(3, stride, padding=1, count_include_pad=False),
    'skip_connect': lambda c, stride, affine, act: (nn.Identity() if stride == 1
                                                    else FactorizedReduce(c, c, affine, act)),
    'sep_conv_3x3': lambda c, stride, affine, act: SepConv(c, c, 3, stride, 1, affine, act),
    'sep_conv_5x5': lambda c, stride, affine, act: SepConv(c, c, 5, stride, 2, affine, act),
    'dil_conv_3x3': lambda c, stride, affine, act: DilConv(c, c, 3, stride, 2, 2, affine, act),
    'dil_conv_5x5': lambda c, stride, affine, act: DilConv(c, c, 5, stride, 4, 2, affine, act),
}
for _name, _builder in _DARTS_OPS.items():
    CANDIDATE_OPS.register_module(_name, module=_builder)
DARTS_PRIMITIVES = tuple(_DARTS_OPS)


def check_primitives(primitives: Sequence[str], where: str = 'primitives') -> List[str]:
    """Returns ``primitives`` as a list, or raises ``ValueError`` naming each unknown or repeated name."""
    if isinstance(primitives, str) or not isinstance(primitives, Sequence) or not primitives:
        raise ValueError(f'{where}: expected a non-empty list of op names, got {primitives!r}')
    known = sorted(CANDIDATE_OPS.module_dict)
    for i, name in enumerate(primitives):
        if name not in CANDIDATE_OPS.module_dict:
            raise ValueError(f'{where}[{i}]: unknown op {name!r}; expected one of {known}')
    repeated = sorted({p for p in primitives if list(primitives).count(p) > 1})
    if repeated:
        raise ValueError(f'{where}: ops listed more than once: {repeated}')
    return list(primitives)


def build_candidate_op(name: str, channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    """Builds the candidate op registered as ``name``."""
    check_primitives([name], 'op')
    return CANDIDATE_OPS.get(name)(channels, stride, affine, act_cfg)
