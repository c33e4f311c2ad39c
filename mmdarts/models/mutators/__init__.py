from .diff_mutator import DiffMutator, mixed_op_weights

__all__ = ['DiffMutator', 'mixed_op_weights']
