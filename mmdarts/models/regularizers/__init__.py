from .beta_decay import BetaDecay, beta_decay_loss
from .size_aware_decay import SizeAwareDecay, op_size_coefficients, size_aware_decay_loss
from .zero_one_loss import ZeroOneLoss

__all__ = [
    'BetaDecay', 'beta_decay_loss', 'SizeAwareDecay', 'size_aware_decay_loss', 'op_size_coefficients', 'ZeroOneLoss'
]
