"""Evaluate a checkpoint: python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

import mmdarts  # noqa: F401  (stack fixes and registries, before mmengine builds anything)
from mmdarts.apis import check_config_or_exit, merge_options, run_runner


def parse_args():
    parser = argparse.ArgumentParser(description='Evaluate a model checkpoint')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and metrics are written')
    parser.add_argument('--out', help='also dump the metrics to this JSON or pickle file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override settings of the config, key=value pairs')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    merge_options(cfg, args.cfg_options)  # a test loader defined as the val loader follows its overrides
    check_config_or_exit(cfg, loaders=('test_dataloader', ))  # bad input stops here, naming the field
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.out:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) else cfg.test_evaluator
        cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
    run_runner(cfg, args.launcher, 'test', checkpoint=args.checkpoint)


if __name__ == '__main__':
    main()
