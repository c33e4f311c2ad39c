from .arch_gradient import (
                            exact_hvp,
                            finite_difference_epsilon,
                            finite_difference_hvp,
                            perturb,
                            sgd_hyperparameters,
                            unrolled_arch_gradient,
                            virtual_step,
)
from .augment_cell import AugmentCell, drop_path
from .derived_channels import complete_head_channels
from .nonfinite import all_finite
from .precision import float32_is_ieee, full_precision
from .running_stats import frozen_running_stats
from .search_cell import MixedOp, SearchCell, check_input_size

__all__ = [
    'AugmentCell', 'MixedOp', 'SearchCell', 'all_finite', 'check_input_size', 'complete_head_channels', 'drop_path',
    'exact_hvp', 'finite_difference_epsilon', 'finite_difference_hvp', 'float32_is_ieee', 'frozen_running_stats',
    'full_precision', 'perturb',
    'sgd_hyperparameters', 'unrolled_arch_gradient', 'virtual_step'
]
