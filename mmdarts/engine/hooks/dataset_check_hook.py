from typing import Iterator, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from torch.utils.data import Dataset

from mmdarts.datasets import check_num_classes
from mmdarts.registry import HOOKS


def _loaders(runner) -> Iterator[Tuple[str, Dataset]]:
    """``(config field, dataset)`` of every loader the runner has built so far (the arch loader of a search too)."""
    for field, attr in (('train_dataloader', '_train_loop'), ('val_dataloader', '_val_loop'),
                        ('test_dataloader', '_test_loop')):
        loop = getattr(runner, attr, None)
        if isinstance(loop, BaseLoop):
            yield field, loop.dataloader.dataset
            arch = getattr(loop, 'arch_dataloader', None)
            if arch is not None:
                yield 'arch_dataloader', arch.dataset


def model_num_classes(model) -> Tuple[Optional[int], str]:
    """The classes the (unwrapped) model predicts (its head's ``num_classes``) and the config field that sets
    them."""
    classifier, field = model, 'model'
    if hasattr(model, 'architecture'):  # mmdarts.Darts
        classifier, field = model.architecture, 'model.architecture'
    head = getattr(classifier, 'head', None)
    return getattr(head, 'num_classes', None), f'{field}.head.num_classes'


@HOOKS.register_module()
class DatasetCheckHook(Hook):
    """Stops a run before it trains or tests when the model and the data disagree on the classes: the head's
    ``num_classes`` against the classes of every loader's dataset (train, arch, val, test) and against
    ``data_preprocessor.num_classes``. mmdarts' ``tools/train.py`` and ``tools/test.py`` register it.

    Without it, too few classes stop at the first iteration with ``IndexError: Target 3 is out of bounds``, and
    too many train a head whose extra outputs only lower every score.
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        num_classes, field = model_num_classes(model)
        if num_classes is None:
            return
        preprocessed = getattr(getattr(model, 'data_preprocessor', None), 'num_classes', None)
        if preprocessed is not None and preprocessed != num_classes:
            raise ValueError(f'data_preprocessor.num_classes={preprocessed} but {field}={num_classes}; '
                             'set both to the number of classes of the data')
        for where, dataset in _loaders(runner):
            check_num_classes(num_classes, dataset, field, f'{where}.dataset')
