from .diff_mutator import DiffMutator, edge_normalized_weights, hard_gumbel_weights, mixed_op_weights

__all__ = ['DiffMutator', 'mixed_op_weights', 'hard_gumbel_weights', 'edge_normalized_weights']
