from .search_cell import MixedOp, SearchCell

__all__ = ['MixedOp', 'SearchCell']
from .arch_gradient import (finite_difference_epsilon, finite_difference_hvp, perturb, unrolled_arch_gradient,
                            virtual_step)
from .running_stats import frozen_running_stats

__all__ += [
    'finite_difference_epsilon', 'finite_difference_hvp', 'perturb', 'unrolled_arch_gradient', 'virtual_step',
    'frozen_running_stats'
]
from .augment_cell import AugmentCell, drop_path

__all__ += ['AugmentCell', 'drop_path']
