"""The search cell and how it computes its mixed edges: per edge (:class:`MixedOp`), or wave by wave for all the
edges leaving the same states (:mod:`.batched_cell`), their weights and statistics stored in banks
(:mod:`.edge_banks`)."""
from .search_cell import MixedOp, SearchCell

__all__ = ['MixedOp', 'SearchCell']
