from .banked_batch_norm import PLAIN_BATCH_NORMS, BankedBatchNorm2d
from .candidates import DARTS_PRIMITIVES, build_candidate_op, check_primitives
from .darts_ops import (
    ActConvBN,
    DilConv,
    FactorizedReduce,
    SepConv,
    Zero,
    build_activation,
    even_grid_conv,
    on_batch_statistics,
)
from .dilated_conv import DilatedConv2d, subsampled_geometry
from .recomputed_conv import (
    batched_batch_norm_counters,
    depthwise_pointwise,
    norm_arguments,
    norm_relu_depthwise_pointwise,
)

__all__ = [
    'DARTS_PRIMITIVES', 'build_candidate_op', 'check_primitives', 'ActConvBN', 'DilConv', 'FactorizedReduce',
    'SepConv', 'Zero', 'build_activation', 'even_grid_conv', 'on_batch_statistics', 'DilatedConv2d',
    'subsampled_geometry', 'depthwise_pointwise', 'norm_arguments', 'norm_relu_depthwise_pointwise',
    'batched_batch_norm_counters', 'BankedBatchNorm2d', 'PLAIN_BATCH_NORMS'
]
