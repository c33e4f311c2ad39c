from .arch_gradient import (
    exact_hvp,
    finite_difference_epsilon,
    finite_difference_hvp,
    finite_difference_hvp_of_difference,
    perturb,
    sgd_hyperparameters,
    unrolled_arch_gradient,
    virtual_step,
)
from .darts import Darts
from .nonfinite import all_finite
from .precision import float32_is_ieee, full_precision
from .running_stats import frozen_running_stats
from .twin_pass import twin_losses, twin_pass_unavailable

__all__ = [
    'Darts', 'all_finite', 'exact_hvp', 'finite_difference_epsilon', 'finite_difference_hvp',
    'finite_difference_hvp_of_difference', 'float32_is_ieee', 'frozen_running_stats', 'full_precision', 'perturb',
    'sgd_hyperparameters', 'twin_losses', 'twin_pass_unavailable', 'unrolled_arch_gradient',
    'virtual_step'
]
