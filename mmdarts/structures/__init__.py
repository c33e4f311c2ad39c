from .genotype import CELL_TYPES, Genotype, cell_edges, derive_cell, derive_cell_threshold

__all__ = ['CELL_TYPES', 'Genotype', 'cell_edges', 'derive_cell', 'derive_cell_threshold']
from .published import PUBLISHED_GENOTYPES, load_genotype

__all__ += ['PUBLISHED_GENOTYPES', 'load_genotype']
