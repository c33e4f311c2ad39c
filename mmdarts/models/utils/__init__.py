from .search_cell import MixedOp, SearchCell, check_input_size

__all__ = ['MixedOp', 'SearchCell', 'check_input_size']
from .arch_gradient import (exact_hvp, finite_difference_epsilon, finite_difference_hvp, perturb, sgd_hyperparameters,
                            unrolled_arch_gradient, virtual_step)
from .nonfinite import all_finite
from .running_stats import frozen_running_stats

__all__ += [
    'finite_difference_epsilon', 'finite_difference_hvp', 'perturb', 'unrolled_arch_gradient', 'virtual_step',
    'frozen_running_stats', 'sgd_hyperparameters', 'all_finite', 'exact_hvp'
]
from .augment_cell import AugmentCell, drop_path

__all__ += ['AugmentCell', 'drop_path']
