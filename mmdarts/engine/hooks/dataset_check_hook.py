import time
from typing import Dict, Iterator, Optional, Tuple

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from torch.utils.data import Dataset

from mmdarts.datasets import SubsetDataset, check_every_class_has_samples, check_num_classes, dataset_labels
from mmdarts.datasets.image_checks import image_files, unreadable_images
from mmdarts.models.utils.network_checks import check_ints
from mmdarts.registry import HOOKS

TRAINING_LOADERS = ('train_dataloader', 'arch_dataloader')
SWITCH = ('default_hooks.dataset_check.check_images=False (mmdarts configs; elsewhere custom_hooks=['
          "dict(type='DatasetCheckHook', check_images=False)])")


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
    """Stops a run before it trains or tests when the model and the data disagree, naming the config field:

    - the head's ``num_classes`` against the classes of every loader's dataset (train, arch, val, test) and
      against ``data_preprocessor.num_classes``;
    - every class of a training loader's dataset (train, arch; the whole dataset of a ``SubsetDataset`` part, whose
      own classes its ``require_all_classes`` rules) must have samples: an image folder with an empty class folder
      lists the class (mmengine only warns), and a search would train on without it;
    - every image file of every loader must be readable by the loading transform of its own pipeline (decoded in
      ``num_workers`` threads, with a progress bar; timings in ``docs/benchmarks.md``), so a corrupt file stops
      the run at its start, naming the file, not when its batch loads hours in.

    mmdarts' configs list it in ``default_hooks`` as ``dataset_check``; mmdarts' ``tools/train.py`` and
    ``tools/test.py`` add one to configs without it. In a distributed run the main process reads the images and
    every process stops alike.

    Args:
        check_images (bool): decode every image file first. Defaults to True (False for data sets too large to
            read twice: ``--cfg-options default_hooks.dataset_check.check_images=False``).
        num_workers (int): threads decoding images. Defaults to 8.
    """
    priority = 'VERY_HIGH'

    def __init__(self, check_images: bool = True, num_workers: int = 8):
        check_ints('DatasetCheckHook', num_workers=num_workers)
        self.check_images = check_images
        self.num_workers = num_workers

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        loaders = list(_loaders(runner))
        num_classes, field = model_num_classes(model)
        if num_classes is not None:
            preprocessed = getattr(getattr(model, 'data_preprocessor', None), 'num_classes', None)
            if preprocessed is not None and preprocessed != num_classes:
                raise ValueError(f'data_preprocessor.num_classes={preprocessed} but {field}={num_classes}; '
                                 'set both to the number of classes of the data')
            for where, dataset in loaders:
                check_num_classes(num_classes, dataset, field, f'{where}.dataset')
        for where, dataset in loaders:
            if where in TRAINING_LOADERS:
                self._check_classes_have_samples(dataset, f'{where}.dataset')
        if self.check_images:
            self._check_images(runner, loaders)

    @staticmethod
    def _check_classes_have_samples(dataset: Dataset, where: str) -> None:
        while isinstance(dataset, SubsetDataset):  # the classes of a part are its own rule (require_all_classes)
            dataset, where = dataset.dataset, f'{where}.dataset'
        try:
            labels = dataset_labels(dataset, where)
        except TypeError:
            return  # no per-sample labels to count
        check_every_class_has_samples(dataset, labels, where)

    def _check_images(self, runner, loaders) -> None:
        files: Dict[str, object] = {}
        first_loader: Dict[str, str] = {}
        for where, dataset in loaders:
            for path, loader in image_files(dataset):
                files.setdefault(path, loader)
                first_loader.setdefault(path, where)
        failures = [None]
        if is_main_process() and files:
            start = time.perf_counter()
            runner.logger.info(f'DatasetCheckHook: reading {len(files)} image files '
                               f'({self.num_workers} threads; off: {SWITCH})')
            failures = [unreadable_images(files, self.num_workers)]
            runner.logger.info(f'DatasetCheckHook: {len(files) - len(failures[0])} of {len(files)} images read in '
                               f'{time.perf_counter() - start:.1f} s')
        broadcast_object_list(failures)
        if failures[0]:
            shown = '; '.join(f'{path} ({first_loader.get(path, "?")}: {reason})' for path, reason in failures[0][:10])
            more = f' and {len(failures[0]) - 10} more' if len(failures[0]) > 10 else ''
            raise ValueError(f'{len(failures[0])} of {len(files)} image files cannot be read: {shown}{more}. '
                             f'Replace or remove them, or skip this check with {SWITCH}')
