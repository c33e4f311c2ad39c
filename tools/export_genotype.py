"""A genotype as mmdarts' JSON and as the DARTS code's Genotype(...) text, with its pictures, without training:
python tools/export_genotype.py SOURCE --out DIR [--config CONFIG].

SOURCE: a search checkpoint (work_dirs/darts_cifar10/epoch_50.pth: the genotype of its α), a genotype file (mmdarts'
JSON, or the DARTS code's Genotype(...) text; FILE:NAME for one of several in a genotypes.py), a published name such
as PC_DARTS, or Genotype(...) text. Writes DIR/genotype.json, DIR/genotype.txt (the text the original DARTS code and
its forks read) and the cell diagrams (for a checkpoint also its softmax(α) pictures)."""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

import mmdarts  # noqa: F401
from mmdarts.models import DiffMutator
from mmdarts.models.ops import DARTS_PRIMITIVES
from mmdarts.registry import MODELS
from mmdarts.structures import CELL_TYPES, Genotype, load_genotype
from mmdarts.utils.checkpoint_files import atomic_write
from mmdarts.visualization import draw_cell, save_figure, write_search_pictures


def primitives_of(checkpoint: dict, cfg: Config = None):
    """The searched ops: from ``cfg`` if given, else from the config a Runner stores in the checkpoint."""
    if cfg is None and isinstance(checkpoint.get('meta', {}).get('cfg'), str):
        cfg = Config.fromstring(checkpoint['meta']['cfg'], '.py')
    backbone = cfg.model.architecture.backbone if cfg is not None else {}
    return list(backbone.get('primitives', DARTS_PRIMITIVES)), cfg


def build_mutator(cfg) -> DiffMutator:
    """The mutator the search used (its weighting, selection rule, excluded ops), from its config."""
    mutator_cfg = dict(cfg.model.get('mutator') or {}) if cfg is not None else {}
    mutator_cfg.setdefault('type', 'DiffMutator')
    with DefaultScope.overwrite_default_scope('mmdarts'):
        return MODELS.build(mutator_cfg)


def genotype_of_checkpoint(checkpoint_path: str, out_dir: str, cfg: Config = None) -> Genotype:
    """The genotype derived from a search checkpoint's α (by the search's own mutator), its α pictures in
    ``out_dir``."""
    checkpoint = torch.load(checkpoint_path, map_location='cpu', weights_only=False)
    state = checkpoint.get('state_dict', checkpoint)
    alphas = {cell: state.get(f'mutator.alphas.{cell}') for cell in CELL_TYPES}
    missing = [cell for cell, alpha in alphas.items() if alpha is None]
    if missing:
        raise ValueError(f'{checkpoint_path}: no mutator.alphas.{missing[0]}; expected a checkpoint of a DARTS search')
    primitives, cfg = primitives_of(checkpoint, cfg)
    num_edges, num_ops = alphas['normal'].shape
    if num_ops != len(primitives):
        raise ValueError(f'{checkpoint_path}: α has {num_ops} ops per edge but the config lists {len(primitives)} '
                         f'primitives {primitives}; pass the search config with --config')
    num_nodes = next(n for n in range(1, 64) if n * (n + 3) // 2 == num_edges)
    mutator = build_mutator(cfg)
    mutator.primitives, mutator.num_nodes = primitives, num_nodes
    for name, value in state.items():  # α, and β where the search normalised edges (PC-DARTS)
        parts = name.split('.')
        if len(parts) == 3 and parts[0] == 'mutator' and parts[1] in ('alphas', 'betas'):
            getattr(mutator, parts[1])[parts[2]] = torch.nn.Parameter(value.float())
    genotype = mutator.derive_genotype()
    epoch = int(checkpoint.get('meta', {}).get('epoch', 0))
    genotype.meta = dict(epoch=epoch, primitives=primitives, checkpoint=osp.abspath(checkpoint_path))
    weights = {k: v.numpy() for k, v in mutator.selection_weights().items()}
    write_search_pictures(out_dir, epoch, genotype, weights, primitives, num_nodes)
    return genotype


def export(source: str, out_dir: str, config: str = None) -> Genotype:
    """Writes ``genotype.json``, ``genotype.txt`` and pictures of ``source`` (see the module docstring) into
    ``out_dir``; returns the genotype. ``config`` (a search config) is read first, whatever the source: the ops its
    ``custom_imports`` register are then known to the genotype's check."""
    cfg = Config.fromfile(config) if config else None
    os.makedirs(out_dir, exist_ok=True)
    if source.endswith(('.pth', '.pt')):
        if not osp.isfile(source):
            raise FileNotFoundError(f'checkpoint {source!r} does not exist')
        genotype = genotype_of_checkpoint(source, out_dir, cfg)
    else:
        genotype = load_genotype(source)
        for cell in CELL_TYPES:
            save_figure(draw_cell(genotype, cell)[0], osp.join(out_dir, f'genotype_{cell}'))
    genotype.to_file(osp.join(out_dir, 'genotype.json'))
    atomic_write(osp.join(out_dir, 'genotype.txt'), (genotype.to_text() + '\n').encode())
    return genotype


def main():
    parser = argparse.ArgumentParser(description='A genotype as JSON and as the DARTS code\'s text, with pictures')
    parser.add_argument('source', help='a search checkpoint (epoch_N.pth), a genotype file (JSON or Genotype(...) '
                        'text, FILE:NAME for one of several), a published name, or Genotype(...) text')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--config', help='the search config: its primitives (if the checkpoint holds no config) '
                        'and the ops its custom_imports register')
    args = parser.parse_args()
    try:
        genotype = export(args.source, args.out, args.config)
    except (ValueError, FileNotFoundError, ImportError) as error:
        raise SystemExit(f'{type(error).__name__}: {error}') from None
    MMLogger.get_current_instance().info(f'{genotype.to_text()}\n-> {osp.join(args.out, "genotype.json")}, '
                                         f'{osp.join(args.out, "genotype.txt")}')


if __name__ == '__main__':
    main()
