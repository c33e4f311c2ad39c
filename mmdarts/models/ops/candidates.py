"""The DARTS primitives (Liu et al., 2019, Sec. 3.1.1), registered in ``CANDIDATE_OPS`` by name.

A builder takes ``(channels, stride, affine, act_cfg)``. Pools are plain pools here; the search cell's mixed op
follows ops whose name contains ``pool`` with a BN, as the paper's search code does (the retrained network does
not). Register more with ``@CANDIDATE_OPS.register_module('my_op')`` and name them in a supernet's ``primitives``.
"""
from typing import Dict, List, Optional, Sequence

import torch.nn as nn

from mmdarts.registry import CANDIDATE_OPS

from .darts_ops import DilConv, FactorizedReduce, SepConv, Zero

DARTS_PRIMITIVES = ('none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
                    'dil_conv_3x3', 'dil_conv_5x5')


@CANDIDATE_OPS.register_module('none')
def none(channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    return Zero(stride)


@CANDIDATE_OPS.register_module('max_pool_3x3')
def max_pool_3x3(channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    return nn.MaxPool2d(3, stride, padding=1)


@CANDIDATE_OPS.register_module('avg_pool_3x3')
def avg_pool_3x3(channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    return nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)


@CANDIDATE_OPS.register_module('skip_connect')
def skip_connect(channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine, act_cfg)


@CANDIDATE_OPS.register_module('sep_conv_3x3')
def sep_conv_3x3(channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    return SepConv(channels, channels, 3, stride, 1, affine, act_cfg)


@CANDIDATE_OPS.register_module('sep_conv_5x5')
def sep_conv_5x5(channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    return SepConv(channels, channels, 5, stride, 2, affine, act_cfg)


@CANDIDATE_OPS.register_module('dil_conv_3x3')
def dil_conv_3x3(channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    return DilConv(channels, channels, 3, stride, 2, 2, affine, act_cfg)


@CANDIDATE_OPS.register_module('dil_conv_5x5')
def dil_conv_5x5(channels: int, stride: int, affine: bool, act_cfg: Optional[Dict]) -> nn.Module:
    return DilConv(channels, channels, 5, stride, 4, 2, affine, act_cfg)


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
