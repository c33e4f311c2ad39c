"""Parameters and multiply-adds of a config's model: python tools/get_flops.py CONFIG [--shape 224]."""
import argparse

from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import mmdarts  # noqa: F401
from mmdarts.apis import check_config_or_exit, merge_options
from mmdarts.registry import MODELS
from mmdarts.utils.complexity import count_model


def parse_args():
    parser = argparse.ArgumentParser(description='Count parameters and multiply-adds of a model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help='input size, H or H W; defaults to 224 for ImageNet configs, else 32')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings of the config')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    merge_options(cfg, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdarts'))
    if cfg.model.get('type') in ('Darts', 'mmdarts.Darts'):
        raise SystemExit('tools/get_flops.py counts a network, not a search supernet: use a retrain config '
                         '(e.g. configs/darts_cifar10_retrain.py with model.backbone.genotype=...)')
    check_config_or_exit(cfg, loaders=())  # head channels derived from the backbone, the genotype read and checked
    model = MODELS.build(cfg.model)
    if args.shape is None:
        size = (224, 224) if cfg.model.get('backbone', {}).get('stem') == 'imagenet' else (32, 32)
    else:
        size = tuple(args.shape) * (2 // len(args.shape))
    channels = cfg.model.get('backbone', {}).get('in_channels', 3)
    counts = count_model(model, (channels, ) + size)
    MMLogger.get_current_instance().info(
        f'{args.config}: input {(channels, ) + size}\n'
        f'  parameters (inference, auxiliary tower excluded): {counts["inference_params"] / 1e6:.3f} M\n'
        f'  parameters (all): {counts["params"] / 1e6:.3f} M\n'
        f'  multiply-adds: {counts["flops"] / 1e6:.1f} M')


if __name__ == '__main__':
    main()
