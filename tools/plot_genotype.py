"""Draw the cells of a genotype: python tools/plot_genotype.py GENOTYPE.json|NAME --out DIR [--formats png svg]."""
import argparse
import os
import os.path as osp

from mmengine.logging import MMLogger

import mmdarts  # noqa: F401
from mmdarts.structures import load_genotype
from mmdarts.visualization import draw_cell, save_figure


def plot(genotype_source: str, out_dir: str, formats=('png', 'svg')):
    genotype = load_genotype(genotype_source)
    stem = osp.splitext(osp.basename(genotype_source))[0]
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for cell in ('normal', 'reduce'):
        figure, _ = draw_cell(genotype, cell)
        paths += save_figure(figure, osp.join(out_dir, f'{stem}_{cell}'), formats)
    return paths


def main():
    parser = argparse.ArgumentParser(description='Draw the normal and reduction cells of a genotype')
    parser.add_argument('genotype', help='a genotype JSON file, or a published name such as DARTS_V2')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--formats', nargs='+', default=['png', 'svg'], choices=['png', 'svg', 'pdf'])
    args = parser.parse_args()
    for path in plot(args.genotype, args.out, args.formats):
        MMLogger.get_current_instance().info(f'wrote {path}')


if __name__ == '__main__':
    main()
