"""Genotypes published with their papers, usable by name (``DartsNet(genotype='DARTS_V2')``)."""
import os.path as osp
from typing import Any, Dict, Optional, Sequence

from .genotype import Genotype

PUBLISHED_GENOTYPES: Dict[str, Dict[str, Any]] = {
    # Liu et al., DARTS, ICLR 2019: first order (V1) and second order (V2), CIFAR-10.
    'DARTS_V1': dict(
        normal=[['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['skip_connect', 0], ['sep_conv_3x3', 1],
                ['skip_connect', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['skip_connect', 2]],
        normal_concat=[2, 3, 4, 5],
        reduce=[['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 0],
                ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['avg_pool_3x3', 0]],
        reduce_concat=[2, 3, 4, 5]),
    'DARTS_V2': dict(
        normal=[['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1],
                ['sep_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 0], ['dil_conv_3x3', 2]],
        normal_concat=[2, 3, 4, 5],
        reduce=[['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1],
                ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1]],
        reduce_concat=[2, 3, 4, 5]),
}


def load_genotype(genotype: Any, primitives: Optional[Sequence[str]] = None, where: str = 'genotype') -> Genotype:
    """A :class:`Genotype` from a Genotype, its dict form, a path to a genotype JSON, or a published name.

    Raises:
        ValueError: naming what was given and what is accepted.
    """
    if isinstance(genotype, Genotype):
        return Genotype.from_dict(genotype.to_dict(), where=where, primitives=primitives)
    if isinstance(genotype, dict):
        return Genotype.from_dict(genotype, where=where, primitives=primitives)
    if isinstance(genotype, str):
        if genotype in PUBLISHED_GENOTYPES:
            return Genotype.from_dict(PUBLISHED_GENOTYPES[genotype], where=genotype, primitives=primitives)
        if osp.isfile(osp.expanduser(genotype)):
            return Genotype.from_file(osp.expanduser(genotype), primitives=primitives)
        raise ValueError(f'{where}: {genotype!r} is neither a genotype file nor a published genotype; expected a '
                         f'path to a genotype JSON or one of {sorted(PUBLISHED_GENOTYPES)}')
    raise ValueError(f'{where}: expected a Genotype, a dict, a file path or a published name, got '
                     f'{type(genotype).__name__}')
