"""Checks of a config made before anything is built, so bad input stops a run before it trains."""
import os.path as osp
from typing import Any, Iterator, Tuple

# Dataset types that create their data_root and download into it when `download` is not False.
DOWNLOADING_DATASETS = {'CIFAR10', 'CIFAR100', 'MNIST', 'FashionMNIST'}
LOADERS = ('train_dataloader', 'arch_dataloader', 'val_dataloader', 'test_dataloader')


def _datasets(cfg: Any, where: str) -> Iterator[Tuple[str, dict]]:
    if not isinstance(cfg, dict):
        return
    if 'type' in cfg:
        yield where, cfg
    for key in ('dataset', 'datasets'):
        value = cfg.get(key)
        if isinstance(value, dict):
            yield from _datasets(value, f'{where}.{key}')
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                yield from _datasets(item, f'{where}.{key}[{i}]')


def check_data_roots(cfg) -> None:
    """Every dataset's ``data_root`` must exist, unless the dataset downloads into it.

    Raises:
        FileNotFoundError: naming the config field and the missing folder.
    """
    for loader in LOADERS:
        for where, dataset in _datasets((cfg.get(loader) or {}).get('dataset'), f'{loader}.dataset'):
            root = dataset.get('data_root')
            kind = str(dataset.get('type', '')).split('.')[-1]
            downloads = kind in DOWNLOADING_DATASETS and dataset.get('download', True)
            if root and not downloads and not osp.exists(osp.expanduser(root)):
                raise FileNotFoundError(f'{where}.data_root={root!r} does not exist (dataset type {kind!r})')


def check_search_config(cfg) -> None:
    """A search config (model type Darts) needs both optimizers and the arch loader."""
    model_type = str(cfg.get('model', {}).get('type', '')).split('.')[-1]
    if model_type != 'Darts':
        return
    optim = cfg.get('optim_wrapper') or {}
    missing = [k for k in ('architecture', 'mutator') if not optim.get(k)]
    if missing:
        raise ValueError(f'optim_wrapper: missing key(s) {missing}; a DARTS search needs optim_wrapper=dict('
                         "constructor='DartsOptimWrapperConstructor', architecture=dict(optimizer=...), "
                         'mutator=dict(optimizer=...))')
    train_cfg = cfg.get('train_cfg') or {}
    if cfg.get('arch_dataloader') is None and train_cfg.get('arch_dataloader') is None:
        raise ValueError('a DARTS search needs the batches of the α step: set a top-level `arch_dataloader`')


def check_config(cfg) -> None:
    check_search_config(cfg)
    check_data_roots(cfg)
