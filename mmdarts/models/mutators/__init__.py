from .diff_mutator import DiffMutator, hard_gumbel_weights, mixed_op_weights

__all__ = ['DiffMutator', 'mixed_op_weights', 'hard_gumbel_weights']
