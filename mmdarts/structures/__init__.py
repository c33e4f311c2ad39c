from .genotype import CELL_TYPES, Genotype, cell_edges, derive_cell, derive_cell_threshold, edge_names, state_name

__all__ = ['CELL_TYPES', 'Genotype', 'cell_edges', 'derive_cell', 'derive_cell_threshold', 'edge_names', 'state_name']
from .genotype_text import parse_genotype_text
from .published import PUBLISHED_GENOTYPES, load_genotype

__all__ += ['PUBLISHED_GENOTYPES', 'load_genotype', 'parse_genotype_text']
