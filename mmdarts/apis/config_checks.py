"""What the tools do to a config before anything is built: checks, so bad input stops a run before it trains,
fields derived from others, and command-line overrides that reach the loaders a config defines alike."""
import copy
import difflib
import inspect
import numbers
import os.path as osp
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

from mmdarts.models.utils import complete_head_channels
from mmdarts.registry import OPTIMIZERS
from mmdarts.structures import PUBLISHED_GENOTYPES, load_genotype
from mmdarts.structures.published import split_file_name

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


def _kind(cfg: Any) -> str:
    return str(cfg.get('type', '')).split('.')[-1] if isinstance(cfg, dict) else ''


def check_data_roots(cfg, loaders: Sequence[str] = LOADERS) -> None:
    """Every dataset's ``data_root`` of ``loaders`` must exist, unless the dataset downloads into it.

    Raises:
        FileNotFoundError: naming the config field and the missing folder.
    """
    for loader in loaders:
        for where, dataset in _datasets((cfg.get(loader) or {}).get('dataset'), f'{loader}.dataset'):
            root = dataset.get('data_root')
            kind = _kind(dataset)
            downloads = kind in DOWNLOADING_DATASETS and dataset.get('download', True)
            if root and not downloads and not osp.exists(osp.expanduser(root)):
                raise FileNotFoundError(f'{where}.data_root={root!r} does not exist (dataset type {kind!r})')


def check_search_config(cfg) -> None:
    """A search config (model type Darts) needs both optimizers and the arch loader."""
    if _kind(cfg.get('model')) != 'Darts':
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


def _optimizer_configs(optim_wrapper: Any) -> Iterator[Tuple[str, dict]]:
    """``(config field, optimizer config)`` of a plain optim wrapper config and of each named one (a search's
    ``architecture`` and ``mutator``)."""
    if not isinstance(optim_wrapper, dict):
        return
    if isinstance(optim_wrapper.get('optimizer'), dict):
        yield 'optim_wrapper.optimizer', optim_wrapper['optimizer']
    for key, value in optim_wrapper.items():
        if isinstance(value, dict) and isinstance(value.get('optimizer'), dict):
            yield f'optim_wrapper.{key}.optimizer', value['optimizer']


def _registered_optimizers() -> list:
    names, registry = set(), OPTIMIZERS
    while registry is not None:
        names.update(registry.module_dict)
        registry = registry.parent
    return sorted(names)


def _check_value(field: str, value: Any, default: Any, owner: str) -> None:
    """``value`` must be of the kind of the optimizer argument's default: a number, a bool, or a tuple of numbers."""
    if isinstance(default, bool):
        ok, expected = isinstance(value, bool), 'True or False'
    elif isinstance(default, numbers.Real):
        ok, expected = isinstance(value, numbers.Real) and not isinstance(value, bool), 'a number'
    elif isinstance(default, tuple) and all(isinstance(d, numbers.Real) for d in default):
        ok = (isinstance(value, (list, tuple)) and len(value) == len(default)
              and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value))
        expected = f'{len(default)} numbers'
    else:
        return
    if not ok:
        raise ValueError(f'{field}={value!r}: expected {expected} ({owner}, default {default!r})')


def check_optimizers(cfg) -> None:
    """Each optimizer of ``optim_wrapper`` must be a registered type (torch's, mmengine's, mmpretrain's or
    mmdarts'), given only arguments it takes, numbers where it expects numbers.

    Raises:
        ValueError: naming the config field, what was given and what is expected.
    """
    for field, optimizer in _optimizer_configs(cfg.get('optim_wrapper')):
        kind = optimizer.get('type')
        if not isinstance(kind, str):
            continue  # a class given directly (a new-style config)
        cls = OPTIMIZERS.get(kind)
        if cls is None:
            known = _registered_optimizers()
            close = difflib.get_close_matches(kind.split('.')[-1], known, n=1, cutoff=0.75)
            hint = f' (did you mean {close[0]!r}?)' if close else ''
            raise ValueError(f'{field}.type={kind!r} is not a registered optimizer{hint}; expected a torch.optim '
                             f'class or one registered in mmengine, mmpretrain or mmdarts: {known}')
        parameters = inspect.signature(cls).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        for name, value in optimizer.items():
            if name == 'type' or name.startswith('_'):  # mmengine's own keys, as _scope_
                continue
            if name not in parameters:
                if not takes_any:
                    raise ValueError(f'{field}.{name}: {kind} takes no argument {name!r}; it takes '
                                     f'{[p for p in parameters if p != "params"]}')
                continue
            default = parameters[name].default
            if default is not inspect.Parameter.empty:
                _check_value(f'{field}.{name}', value, default, f"{kind}'s {name}")


def inline_genotype(model: dict) -> None:
    """A ``DartsNet`` genotype given other than by a published name (a file, ``Genotype(...)`` text, a dict with
    edges node by node) is checked and written into the config in mmdarts' dict form, a file's path kept in
    ``meta['file']``: the config the run saves in its work dir, and each checkpoint's copy of it, then hold the
    architecture itself and do not depend on the search's work dir staying where it was. Errors name the file or
    the config field."""
    backbone = model.get('backbone')
    if _kind(backbone) != 'DartsNet' or backbone.get('genotype') is None:
        return
    genotype = backbone['genotype']
    if isinstance(genotype, str) and genotype in PUBLISHED_GENOTYPES:
        return
    data = load_genotype(genotype, where='model.backbone.genotype').to_dict()
    if isinstance(genotype, str) and split_file_name(genotype) is not None:
        data['meta'] = dict(data.get('meta', {}), file=osp.abspath(osp.expanduser(genotype)))
    backbone['genotype'] = data


def complete_model_config(cfg) -> None:
    """Fills what the model config leaves to be derived: a classifier's head channels from its DARTS backbone
    (``complete_head_channels``; ``Darts`` does this for its supernet itself) and a genotype read in
    (:func:`inline_genotype`)."""
    model = cfg.get('model')
    if not isinstance(model, dict) or _kind(model) == 'Darts':
        return
    inline_genotype(model)
    complete_head_channels(model, 'model')


def merge_options(cfg, options: Optional[Dict[str, Any]]) -> None:
    """``--cfg-options`` merged into ``cfg``; a ``test_dataloader`` (``test_evaluator``) that the config defines
    as its ``val_dataloader`` (``val_evaluator``), as ``test_dataloader = val_dataloader`` does, follows the
    overrides of the val one unless the options set it themselves."""
    if not options:
        return
    following = [(val, test) for val, test in (('val_dataloader', 'test_dataloader'),
                                               ('val_evaluator', 'test_evaluator'))
                 if cfg.get(val) is not None and cfg.get(test) == cfg.get(val)]
    cfg.merge_from_dict(options)
    touched = {key.split('.')[0] for key in options}
    for val, test in following:
        if val in touched and test not in touched:
            cfg[test] = copy.deepcopy(cfg[val])


def check_config(cfg, loaders: Sequence[str] = LOADERS) -> None:
    """The tools' checks and derived fields, before anything is built: a search's optimizers and arch loader,
    the optimizers' types and arguments, the data roots of ``loaders``, the model's derived fields
    (:func:`complete_model_config`)."""
    check_search_config(cfg)
    check_optimizers(cfg)
    check_data_roots(cfg, loaders)
    complete_model_config(cfg)


def check_config_or_exit(cfg, loaders: Sequence[str] = LOADERS) -> None:
    """:func:`check_config` for the tools: bad input ends the program with the message that names the field,
    not a traceback."""
    try:
        check_config(cfg, loaders)
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f'{type(error).__name__}: {error}') from None
