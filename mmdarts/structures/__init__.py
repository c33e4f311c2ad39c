from .genotype import CELL_TYPES, Genotype, cell_edges, derive_cell

__all__ = ['CELL_TYPES', 'Genotype', 'cell_edges', 'derive_cell']
from .published import PUBLISHED_GENOTYPES, load_genotype

__all__ += ['PUBLISHED_GENOTYPES', 'load_genotype']
