"""Draw the cells of a genotype: python tools/plot_genotype.py GENOTYPE --out DIR [--formats png svg] [--config CONFIG].

GENOTYPE: a genotype file (mmdarts' JSON, or the DARTS code's Genotype(...) text; FILE:NAME for one of several in a
genotypes.py), a published name such as DARTS_V2, or Genotype(...) text in quotes."""
import argparse
import os
import os.path as osp

from mmengine.config import Config
from mmengine.logging import MMLogger

import mmdarts  # noqa: F401
from mmdarts.structures import PUBLISHED_GENOTYPES, load_genotype
from mmdarts.structures.published import split_file_name
from mmdarts.visualization import draw_cell, save_figure


def picture_stem(source: str) -> str:
    """The pictures' file name stem: a published name, a file's name (or the NAME of FILE:NAME), else 'genotype'."""
    if source in PUBLISHED_GENOTYPES:
        return source
    path, name = split_file_name(source) or ('genotype', None)  # no file: the stem 'genotype'
    return name if name is not None else osp.splitext(osp.basename(path))[0]


def plot(genotype_source: str, out_dir: str, formats=('png', 'svg')):
    genotype = load_genotype(genotype_source)  # checked against the registered ops, errors name the file
    stem = picture_stem(genotype_source)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for cell in ('normal', 'reduce'):
        figure, _ = draw_cell(genotype, cell)
        paths += save_figure(figure, osp.join(out_dir, f'{stem}_{cell}'), formats)
    return paths


def main():
    parser = argparse.ArgumentParser(description='Draw the normal and reduction cells of a genotype')
    parser.add_argument('genotype', help='a genotype file (JSON or Genotype(...) text, FILE:NAME for one of several), '
                        'a published name such as DARTS_V2, or Genotype(...) text')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--formats', nargs='+', default=['png', 'svg'], choices=['png', 'svg', 'pdf'])
    parser.add_argument('--config', help="a config whose custom_imports register the genotype's own ops")
    args = parser.parse_args()
    try:
        if args.config:
            Config.fromfile(args.config)  # imports its custom_imports
        paths = plot(args.genotype, args.out, args.formats)
    except (ValueError, ImportError) as error:
        raise SystemExit(f'{type(error).__name__}: {error}') from None
    for path in paths:
        MMLogger.get_current_instance().info(f'wrote {path}')


if __name__ == '__main__':
    main()
