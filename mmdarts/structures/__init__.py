from .genotype import CELL_TYPES, Genotype, cell_edges, derive_cell

__all__ = ['CELL_TYPES', 'Genotype', 'cell_edges', 'derive_cell']
