"""Genotypes published with their papers, usable by name (``DartsNet(genotype='PC_DARTS')``), and the one loader
every tool reads a genotype with (:func:`load_genotype`)."""
import json
import os.path as osp
from typing import Any, Dict, Optional, Tuple

from mmdarts.registry import CANDIDATE_OPS

from .genotype import Genotype
from .genotype_text import looks_like_genotype_text, parse_genotype_text


def _cell(text: str):
    """``'sep_conv_3x3 0, sep_conv_3x3 1, ...'`` as ``[['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ...]``."""
    return [[op, int(j)] for op, j in (edge.split() for edge in text.split(','))]


def _published(normal: str, reduce: str, source: str, paper: str, params: int, reported: str,
               **imagenet) -> Dict[str, Any]:
    """A published genotype (both cells, all four nodes concatenated) with where it was read (``source``: the
    authors' repository, file and variable, commit), the paper, its parameter count in the paper's CIFAR-10
    network as mmdarts builds it (36 channels, 20 cells, auxiliary tower excluded; the authors' own network code
    gives the same count) and the count the paper reports; for cells the paper also trained on ImageNet (mobile
    setting: 48 channels, 14 cells) ``imagenet_params`` and ``reported_imagenet_params`` alike."""
    return dict(normal=_cell(normal), normal_concat=[2, 3, 4, 5], reduce=_cell(reduce), reduce_concat=[2, 3, 4, 5],
                meta=dict(source=source, paper=paper, params=params, reported_params=reported, **imagenet))


PUBLISHED_GENOTYPES: Dict[str, Dict[str, Any]] = {
    'DARTS_V1': _published(
        'sep_conv_3x3 1, sep_conv_3x3 0, skip_connect 0, sep_conv_3x3 1, skip_connect 0, sep_conv_3x3 1, '
        'sep_conv_3x3 0, skip_connect 2',
        'max_pool_3x3 0, max_pool_3x3 1, skip_connect 2, max_pool_3x3 0, max_pool_3x3 0, skip_connect 2, '
        'skip_connect 2, avg_pool_3x3 0',
        'quark0/darts cnn/genotypes.py DARTS_V1 @ f276dd3', 'Liu et al., DARTS, ICLR 2019, first order', 3169414,
        '3.3M (Table 1; the genotype has 3.17M in the authors\' own network code too)'),
    'DARTS_V2': _published(
        'sep_conv_3x3 0, sep_conv_3x3 1, sep_conv_3x3 0, sep_conv_3x3 1, sep_conv_3x3 1, skip_connect 0, '
        'skip_connect 0, dil_conv_3x3 2',
        'max_pool_3x3 0, max_pool_3x3 1, skip_connect 2, max_pool_3x3 1, max_pool_3x3 0, skip_connect 2, '
        'skip_connect 2, max_pool_3x3 1',
        'quark0/darts cnn/genotypes.py DARTS_V2 @ f276dd3', 'Liu et al., DARTS, ICLR 2019, second order', 3349342,
        '3.3M', imagenet_params=4718752, reported_imagenet_params='4.7M'),
    'PC_DARTS': _published(
        'sep_conv_3x3 1, skip_connect 0, sep_conv_3x3 0, dil_conv_3x3 1, sep_conv_5x5 0, sep_conv_3x3 1, '
        'avg_pool_3x3 0, dil_conv_3x3 1',
        'sep_conv_5x5 1, max_pool_3x3 0, sep_conv_5x5 1, sep_conv_5x5 2, sep_conv_3x3 0, sep_conv_3x3 3, '
        'sep_conv_3x3 1, sep_conv_3x3 2',
        'yuhuixu1993/PC-DARTS genotypes.py PC_DARTS_cifar @ b74702f', 'Xu et al., PC-DARTS, ICLR 2020', 3634678,
        '3.6M'),
    'PC_DARTS_IMAGENET': _published(
        'skip_connect 1, sep_conv_3x3 0, sep_conv_3x3 0, skip_connect 1, sep_conv_3x3 1, sep_conv_3x3 3, '
        'sep_conv_3x3 1, dil_conv_5x5 4',
        'sep_conv_3x3 0, skip_connect 1, dil_conv_5x5 2, max_pool_3x3 1, sep_conv_3x3 2, sep_conv_3x3 1, '
        'sep_conv_5x5 0, sep_conv_3x3 3',
        'yuhuixu1993/PC-DARTS genotypes.py PC_DARTS_image @ b74702f',
        'Xu et al., PC-DARTS, ICLR 2020, searched on ImageNet', 3721510, 'none on CIFAR-10',
        imagenet_params=5342464, reported_imagenet_params='5.3M'),
    'PDARTS': _published(
        'skip_connect 0, dil_conv_3x3 1, skip_connect 0, sep_conv_3x3 1, sep_conv_3x3 1, sep_conv_3x3 3, '
        'sep_conv_3x3 0, dil_conv_5x5 4',
        'avg_pool_3x3 0, sep_conv_5x5 1, sep_conv_3x3 0, dil_conv_5x5 2, max_pool_3x3 0, dil_conv_3x3 1, '
        'dil_conv_3x3 1, dil_conv_5x5 3',
        'chenxin061/pdarts genotypes.py PDARTS @ b880e87', 'Chen et al., P-DARTS, ICCV 2019', 3433798, '3.4M',
        imagenet_params=4944352, reported_imagenet_params='4.9M'),
    'GDAS': _published(
        'skip_connect 0, skip_connect 1, skip_connect 0, sep_conv_5x5 2, sep_conv_3x3 3, skip_connect 0, '
        'sep_conv_5x5 4, sep_conv_3x3 3',
        'sep_conv_5x5 0, sep_conv_3x3 1, sep_conv_5x5 2, sep_conv_5x5 1, dil_conv_5x5 2, sep_conv_3x3 1, '
        'sep_conv_5x5 0, sep_conv_5x5 1',
        'D-X-Y/AutoDL-Projects xautodl/nas_infer_model/DXYs/genotypes.py GDAS_V1 @ f46486e',
        'Dong & Yang, GDAS, CVPR 2019', 3368782, '3.4M (Table 1)'),
    'SDARTS_ADV': _published(
        'sep_conv_3x3 0, sep_conv_3x3 1, sep_conv_3x3 1, skip_connect 0, sep_conv_5x5 0, dil_conv_3x3 3, '
        'dil_conv_3x3 4, skip_connect 0',
        'max_pool_3x3 0, sep_conv_5x5 1, skip_connect 2, max_pool_3x3 0, skip_connect 3, skip_connect 2, '
        'skip_connect 2, sep_conv_5x5 4',
        'xiangning-chen/SmoothDARTS sota/cnn/genotypes.py c10_s5_pgd @ d3dbfed',
        'Chen & Hsieh, SDARTS, ICML 2020, SDARTS-ADV', 3344806, '3.3M'),
    'DARTS_MINUS': _published(
        'sep_conv_3x3 0, sep_conv_5x5 1, sep_conv_3x3 1, dil_conv_3x3 2, skip_connect 1, sep_conv_3x3 0, '
        'skip_connect 1, sep_conv_3x3 0',
        'sep_conv_3x3 0, max_pool_3x3 1, skip_connect 2, max_pool_3x3 0, skip_connect 2, skip_connect 3, '
        'skip_connect 2, skip_connect 3',
        'Meituan-AutoML/DARTS- src/eval/genotypes.py cifar10_s0_0 (= cifar10_s0_best) @ adb81a8',
        'Chu et al., DARTS-, ICLR 2021, best of 5', 3454318, '3.5M'),
}


def split_file_name(source: str) -> Optional[Tuple[str, Optional[str]]]:
    """The genotype file ``source`` names: ``'genotypes.py:PDARTS'`` as ``('genotypes.py', 'PDARTS')`` where
    ``genotypes.py`` exists, else ``(source, None)`` where ``source`` exists; None if it names no file."""
    path, sep, name = source.rpartition(':')
    if sep and name.isidentifier() and osp.isfile(osp.expanduser(path)):
        return path, name
    return (source, None) if osp.isfile(osp.expanduser(source)) else None


def _read_file(path: str, name: Optional[str]) -> Dict[str, Any]:
    """The dict form of a genotype file: mmdarts' JSON, or ``Genotype(...)`` text (``NAME`` picks one of several)."""
    with open(osp.expanduser(path)) as f:
        text = f.read()
    if name is None:
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            if not looks_like_genotype_text(text):
                raise ValueError(f'{path}: not valid JSON ({error}) and no Genotype(...) text; expected a genotype '
                                 'file written by mmdarts or the Genotype(...) text of the DARTS code') from None
    return parse_genotype_text(text, where=path, name=name)


def load_genotype(genotype: Any, where: str = 'genotype') -> Genotype:
    """A checked :class:`Genotype` from any form a user may hold: a Genotype or its dict (edges flat or node by
    node), a namedtuple of the DARTS code, a published name (:data:`PUBLISHED_GENOTYPES`), a genotype file
    (mmdarts' JSON, or the DARTS code's ``Genotype(...)`` text, ``FILE:NAME`` for one of several in a
    ``genotypes.py``), or ``Genotype(...)`` text itself. Every op must be a registered candidate op (``import
    mmdarts`` registers the paper's).

    Raises:
        ValueError: naming ``where`` (or the file), the field, what was given and what is accepted.
    """
    if isinstance(genotype, Genotype):
        genotype = genotype.to_dict()
    elif hasattr(genotype, '_asdict'):  # the DARTS code's namedtuple
        genotype = dict(genotype._asdict())
    if isinstance(genotype, dict):
        data = genotype
    elif not isinstance(genotype, str):
        raise ValueError(f'{where}: expected a Genotype, a dict, a published name, a file or Genotype(...) text, '
                         f'got {type(genotype).__name__}')
    elif genotype in PUBLISHED_GENOTYPES:
        data, where = PUBLISHED_GENOTYPES[genotype], genotype
    elif (path_and_name := split_file_name(genotype)) is not None:
        data, where = _read_file(*path_and_name), genotype
    elif looks_like_genotype_text(genotype):
        data = parse_genotype_text(genotype, where=where)
    else:
        raise ValueError(f'{where}: {genotype!r} is neither a genotype file nor a published genotype nor '
                         'Genotype(...) text; expected a path to a genotype file (JSON or Genotype(...) text, '
                         'FILE:NAME for one of several), Genotype(...) text, or one of '
                         f'{sorted(PUBLISHED_GENOTYPES)}')
    return Genotype.from_dict(data, where=where, primitives=sorted(CANDIDATE_OPS.module_dict))
