"""Train (search) with an mmdarts or mmpretrain config: python tools/train.py CONFIG [--work-dir DIR] [--resume]."""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger

import mmdarts  # noqa: F401  (stack fixes and registries, before mmengine builds anything)
from mmdarts.apis import check_config_or_exit, merge_options, run_runner
from mmdarts.utils import choose_resume_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description='Train or search a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and genotypes')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a value, from the latest one in the work dir')
    parser.add_argument('--amp', action='store_true', help='mixed precision for the weights (not for α)')
    parser.add_argument('--no-validate', action='store_true', help='skip validation during training')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the lr by the total batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs, e.g. model.unroll=False')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit("--amp: mmengine's AmpOptimWrapper trains on GPUs (or NPU, MLU, MUSA) only, and this "
                             'machine has no CUDA device; run without --amp')
        wrappers = cfg.optim_wrapper
        if wrappers.get('constructor') == 'DartsOptimWrapperConstructor':
            wrappers.architecture.type = 'AmpOptimWrapper'  # α's gradients are computed unscaled
            wrappers.architecture.setdefault('loss_scale', 'dynamic')
        else:
            wrappers.type = 'AmpOptimWrapper'
            wrappers.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None  # resolved in main(), once the work dir is final
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    merge_options(cfg, args.cfg_options)  # a test loader defined as the val loader follows its overrides
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    check_config_or_exit(cfg)  # bad input stops here, before anything trains
    if args.resume == 'auto':
        # The newest complete checkpoint: a run killed while writing one resumes from the one before.
        cfg.load_from, skipped = choose_resume_checkpoint(cfg.work_dir)
        logger = MMLogger.get_current_instance()
        for note in skipped:
            logger.warning(f'--resume: passed over {note}')
        if cfg.load_from is None:
            cfg.resume = False
            logger.warning(f'--resume: no complete checkpoint in {cfg.work_dir}; starting anew')
        else:
            logger.info(f'--resume: resuming from {cfg.load_from}')
    run_runner(cfg, args.launcher, 'train')


if __name__ == '__main__':
    main()
