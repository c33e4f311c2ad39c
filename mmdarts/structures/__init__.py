from .genotype import CELL_TYPES, Genotype, cell_edges, derive_cell, derive_cell_threshold, edge_names, state_name
from .genotype_text import parse_genotype_text
from .published import PUBLISHED_GENOTYPES, load_genotype

__all__ = ['CELL_TYPES', 'Genotype', 'PUBLISHED_GENOTYPES', 'cell_edges', 'derive_cell', 'derive_cell_threshold',
           'edge_names', 'load_genotype', 'parse_genotype_text', 'state_name']
