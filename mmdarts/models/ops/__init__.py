from .candidates import DARTS_PRIMITIVES, build_candidate_op, check_primitives
from .darts_ops import (
    ActConvBN,
    DilConv,
    FactorizedReduce,
    SepConv,
    Zero,
    build_activation,
)
from .dilated_conv import DilatedConv2d, subsampled_geometry
from .recomputed_conv import DepthwisePointwise, depthwise_pointwise

__all__ = [
    'DARTS_PRIMITIVES', 'build_candidate_op', 'check_primitives', 'ActConvBN', 'DilConv', 'FactorizedReduce',
    'SepConv', 'Zero', 'build_activation', 'DilatedConv2d', 'subsampled_geometry',
    'DepthwisePointwise', 'depthwise_pointwise'
]
