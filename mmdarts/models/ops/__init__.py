from .candidates import DARTS_PRIMITIVES, build_candidate_op, check_primitives
from .darts_ops import ActConvBN, DilConv, FactorizedReduce, SepConv, Zero, build_activation

__all__ = [
    'DARTS_PRIMITIVES', 'build_candidate_op', 'check_primitives', 'ActConvBN', 'DilConv', 'FactorizedReduce',
    'SepConv', 'Zero', 'build_activation'
]
