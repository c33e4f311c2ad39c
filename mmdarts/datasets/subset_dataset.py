from typing import Union

from mmengine.dataset import BaseDataset
from torch.utils.data import Dataset

from mmdarts.registry import DATASETS


@DATASETS.register_module()
class SubsetDataset(Dataset):
    """A contiguous, deterministic slice ``[start, end)`` of a dataset, e.g. one half of CIFAR-10's training set.

    The DARTS search splits the training images into a half that trains the weights and a disjoint half that
    trains α (the paper's code takes the first and the second half by index); two ``SubsetDataset`` s with
    ``end=0.5`` and ``start=0.5`` do the same.

    Args:
        dataset (dict | Dataset): the dataset to slice.
        start (float | int): a fraction of the length in [0, 1] (float) or an index (int). Defaults to 0.
        end (float | int): likewise, exclusive. Defaults to 1.0.
    """

    def __init__(self, dataset: Union[dict, Dataset], start: Union[float, int] = 0, end: Union[float, int] = 1.0):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        length = len(self.dataset)
        self.start = self._index(start, length, 'start')
        self.end = self._index(end, length, 'end')
        if not 0 <= self.start < self.end <= length:
            raise ValueError(f'SubsetDataset: start={start!r}, end={end!r} select [{self.start}, {self.end}) of a '
                             f'dataset of {length} samples; expected 0 <= start < end <= {length}')
        self.metainfo = getattr(self.dataset, 'metainfo', {})

    @staticmethod
    def _index(value: Union[float, int], length: int, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f'SubsetDataset: {name} must be a fraction (float) or an index (int), got {value!r}')
        if isinstance(value, float):
            if not 0. <= value <= 1.:
                raise ValueError(f'SubsetDataset: {name}={value} is a fraction and must lie in [0, 1]')
            return int(round(value * length))
        return value

    def __len__(self) -> int:
        return self.end - self.start

    def __getitem__(self, idx: int):
        if not -len(self) <= idx < len(self):
            raise IndexError(f'SubsetDataset index {idx} out of range for length {len(self)}')
        return self.dataset[self.start + idx % len(self)]

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(self.start + idx)

    def full_init(self) -> None:
        if isinstance(self.dataset, BaseDataset):
            self.dataset.full_init()
