from typing import Dict, List, Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from torch.utils.data import Dataset

from mmdarts.registry import DATASETS

from .class_checks import check_every_class_has_samples, class_counts, dataset_classes, dataset_labels

MODES = ('stratified', 'contiguous')


def class_cuts(counts: np.ndarray, fraction: float) -> np.ndarray:
    """Where each class is cut at ``fraction``: about ``fraction * count`` each, rounded on the running total so
    the parts' sizes are the fraction of the whole (rounding each class alone would bias every part one way)."""
    totals = np.round(fraction * np.concatenate([[0], np.cumsum(counts)])).astype(np.int64)
    return np.diff(totals)


def stratified_indices(labels: np.ndarray, start: float, end: float, seed: int) -> np.ndarray:
    """The part ``[start, end)`` of every class: each class's indices in an order drawn from ``seed``, of which
    those between the cuts at ``start`` and at ``end`` (:func:`class_cuts`) are kept; sorted. Parts with the same
    seed and adjacent ranges are disjoint and together cover the dataset, and each holds every class in the
    dataset's proportions (up to one sample a class)."""
    rng = np.random.RandomState(seed)
    classes, counts = np.unique(labels, return_counts=True)
    first, last = class_cuts(counts, start), class_cuts(counts, end)
    picked = [np.flatnonzero(labels == label)[rng.permutation(count)][a:b]
              for label, count, a, b in zip(classes, counts, first, last)]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


@DATASETS.register_module()
class SubsetDataset(Dataset):
    """A deterministic part ``[start, end)`` of a dataset, e.g. one of the two halves of a DARTS search.

    The search trains the weights on one half of the training images and α on the other (Liu et al., 2019,
    Sec. 3.1.1). The halves must be disjoint and come from the same distribution: by default
    (``mode='stratified'``) each class is split on its own, in an order drawn from ``seed``, so two parts with
    the same seed and ``end=0.5`` / ``start=0.5`` are disjoint, cover the dataset and hold every class in its
    proportions. ``mode='contiguous'`` cuts the index range ``[start, end)`` instead; on data stored class by class
    (an image folder) that gives halves with different classes, which ``require_all_classes`` refuses.

    Args:
        dataset (dict | Dataset): the dataset to take a part of.
        start (float | int): a fraction of the length in [0, 1]; with ``mode='contiguous'`` also an index (int).
            Defaults to 0.
        end (float | int): likewise, exclusive. Defaults to 1.0.
        mode (str): ``'stratified'`` or ``'contiguous'``. Defaults to ``'stratified'``.
        seed (int): the order within each class (stratified). Defaults to 0.
        require_all_classes (bool): refuse a part that lacks a class the dataset holds, naming the counts.
            Defaults to True.
    """

    def __init__(self, dataset: Union[dict, Dataset], start: Union[float, int] = 0, end: Union[float, int] = 1.0,
                 mode: str = 'stratified', seed: int = 0, require_all_classes: bool = True):
        if mode not in MODES:
            raise ValueError(f'SubsetDataset: mode must be one of {MODES}, got {mode!r}')
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.full_init()
        self.mode, self.seed = mode, seed
        length = len(self.dataset)
        first, last = self._index(start, length, 'start', mode), self._index(end, length, 'end', mode)
        if not 0 <= first < last <= length:
            raise ValueError(f'SubsetDataset: start={start!r}, end={end!r} select [{first}, {last}) of a '
                             f'dataset of {length} samples; expected 0 <= start < end <= {length}')
        self.start, self.end = start, end
        self.metainfo = getattr(self.dataset, 'metainfo', {})
        self.classes = dataset_classes(self.dataset)
        where = f'SubsetDataset [{start}, {end}) of {type(self.dataset).__name__}'
        all_labels = dataset_labels(self.dataset, where) if mode == 'stratified' or require_all_classes else None
        self.indices = (stratified_indices(all_labels, start, end, seed) if mode == 'stratified' else
                        np.arange(first, last))
        self.source = (type(self.dataset).__name__, length,
                       None if all_labels is None else hash(all_labels.tobytes()))
        self.labels: Optional[np.ndarray] = None if all_labels is None else all_labels[self.indices]
        if all_labels is not None:
            check_every_class_has_samples(self.dataset, all_labels, where)
            if require_all_classes:
                self._check_all_classes(all_labels, where)
            counts = self.class_counts()
            shown = counts if len(counts) <= 20 else f'{min(counts.values())} to {max(counts.values())}'
            print_log(f'{where}: {len(self)} samples, {mode}, per class {shown}', logger='current')

    @staticmethod
    def _index(value: Union[float, int], length: int, name: str, mode: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f'SubsetDataset: {name} must be a fraction (float) or an index (int), got {value!r}')
        if isinstance(value, float):
            if not 0. <= value <= 1.:
                raise ValueError(f'SubsetDataset: {name}={value} is a fraction and must lie in [0, 1]')
            return int(round(value * length))
        if mode != 'contiguous':
            raise ValueError(f"SubsetDataset: {name}={value} is an index, which only mode='contiguous' takes; give a "
                             f'fraction (e.g. {value / max(length, 1):.2f}) for a {mode} part')
        return value

    def class_counts(self) -> Dict[str, int]:
        """``{class name: samples of this part}``."""
        if self.labels is None:
            raise TypeError('SubsetDataset: this part was built without reading labels '
                            "(mode='contiguous', require_all_classes=False)")
        return class_counts(self.labels, self.classes)

    def _check_all_classes(self, all_labels: np.ndarray, where: str) -> None:
        whole = class_counts(all_labels, self.classes)
        part = self.class_counts()
        missing: List[str] = [name for name, count in whole.items() if count and not part.get(name)]
        if not missing:
            return
        hint = ("split class by class with mode='stratified' (the default)" if self.mode == 'contiguous' else
                'each class needs at least one sample per part; classes with one sample: '
                f'{[n for n in missing if whole[n] == 1]}')
        raise ValueError(f'{where} (mode={self.mode!r}) holds no sample of class(es) {missing} that the dataset '
                         f'holds: per class, this part {part}, the dataset {whole}. A search half without a class '
                         f'cannot learn it (the α half would then score 0 %): {hint}, or set this SubsetDataset\'s '
                         'require_all_classes=False (in the search configs: --cfg-options '
                         'train_dataloader.dataset.require_all_classes=False '
                         'arch_dataloader.dataset.require_all_classes=False '
                         'val_dataloader.dataset.require_all_classes=False)')

    def get_gt_labels(self) -> np.ndarray:
        return self.labels if self.labels is not None else dataset_labels(self.dataset, 'SubsetDataset')[self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int):
        if not -len(self) <= idx < len(self):
            raise IndexError(f'SubsetDataset index {idx} out of range for length {len(self)}')
        return self.dataset[int(self.indices[idx])]

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(int(self.indices[idx]))

    def full_init(self) -> None:
        if isinstance(self.dataset, BaseDataset):
            self.dataset.full_init()


def check_disjoint_parts(first: Dataset, second: Dataset, first_name: str, second_name: str) -> None:
    """Two :class:`SubsetDataset` parts of one dataset (same type, length and labels) must share no sample.

    Raises:
        ValueError: naming both loaders and the number of shared samples.
    """
    if not (isinstance(first, SubsetDataset) and isinstance(second, SubsetDataset)) or first.source != second.source:
        return
    shared = np.intersect1d(first.indices, second.indices)
    if len(shared):
        raise ValueError(f'{first_name} and {second_name} share {len(shared)} of their {len(first)} and '
                         f'{len(second)} samples of {first.source[0]}: the weights and α must train on disjoint '
                         f'halves; give both SubsetDatasets the same mode and seed and adjacent ranges (e.g. '
                         f'end=0.5 and start=0.5), got [{first.start}, {first.end}) {first.mode} seed {first.seed} '
                         f'and [{second.start}, {second.end}) {second.mode} seed {second.seed}')
