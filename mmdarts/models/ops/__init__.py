from .candidates import DARTS_PRIMITIVES, build_candidate_op, check_primitives
from .darts_ops import (
    ActConvBN,
    DilatedConv2d,
    DilConv,
    FactorizedReduce,
    SepConv,
    Zero,
    build_activation,
    subsampled_geometry,
)

__all__ = [
    'DARTS_PRIMITIVES', 'build_candidate_op', 'check_primitives', 'ActConvBN', 'DilConv', 'FactorizedReduce',
    'SepConv', 'Zero', 'build_activation', 'DilatedConv2d', 'subsampled_geometry'
]
