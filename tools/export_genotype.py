"""The genotype and its pictures from a search checkpoint, without training:
python tools/export_genotype.py work_dirs/darts_cifar10/epoch_50.pth --out DIR [--config CONFIG]."""
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
from mmdarts.structures import CELL_TYPES
from mmdarts.visualization import write_search_pictures


def primitives_of(checkpoint: dict, config: str = None):
    """The searched ops: from ``config`` if given, else from the config a Runner stores in the checkpoint."""
    cfg = Config.fromfile(config) if config else None
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


def export(checkpoint_path: str, out_dir: str, config: str = None):
    if not osp.isfile(checkpoint_path):
        raise FileNotFoundError(f'checkpoint {checkpoint_path!r} does not exist')
    checkpoint = torch.load(checkpoint_path, map_location='cpu', weights_only=False)
    state = checkpoint.get('state_dict', checkpoint)
    alphas = {cell: state.get(f'mutator.alphas.{cell}') for cell in CELL_TYPES}
    missing = [cell for cell, alpha in alphas.items() if alpha is None]
    if missing:
        raise ValueError(f'{checkpoint_path}: no mutator.alphas.{missing[0]}; expected a checkpoint of a DARTS search')
    primitives, cfg = primitives_of(checkpoint, config)
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
    os.makedirs(out_dir, exist_ok=True)
    genotype.to_file(osp.join(out_dir, 'genotype.json'))
    weights = {k: v.numpy() for k, v in mutator.selection_weights().items()}
    write_search_pictures(out_dir, epoch, genotype, weights, primitives, num_nodes)
    return genotype


def main():
    parser = argparse.ArgumentParser(description='Export the genotype and pictures of a search checkpoint')
    parser.add_argument('checkpoint', help='a checkpoint written by a search (epoch_N.pth)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--config', help='the search config, if the checkpoint holds none')
    args = parser.parse_args()
    genotype = export(args.checkpoint, args.out, args.config)
    MMLogger.get_current_instance().info(f'{genotype} -> {osp.join(args.out, "genotype.json")}')


if __name__ == '__main__':
    main()
