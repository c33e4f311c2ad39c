"""The search cell and how it computes its mixed edges: wave by wave (:mod:`.batched_cell`: on a GPU the edges
leaving the same states together, their weights and statistics stored in banks, :mod:`.edge_banks`; on CPU each
edge a wave), or as the literal sum of :class:`MixedOp`, the reference."""
from .search_cell import MixedOp, SearchCell

__all__ = ['MixedOp', 'SearchCell']
