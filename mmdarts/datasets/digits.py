from typing import List

import numpy as np
from mmpretrain.datasets import BaseDataset

from mmdarts.registry import DATASETS


@DATASETS.register_module()
class Digits(BaseDataset):
    """scikit-learn's handwritten digits: 1797 grey 8x8 images of 10 classes, shipped with the package (no
    download). Pixels (0..16) are scaled to uint8 0..255; images are ``(8, 8)`` arrays under ``'img'``.

    The split is deterministic: a fixed permutation (seed 0) of all images, the last ``test_ratio`` of it for test.

    Args:
        split (str): ``'train'``, ``'test'`` or ``'all'``. Defaults to ``'train'``.
        test_ratio (float): the share of images in the test split. Defaults to 0.2.
        **kwargs: as for mmpretrain's ``BaseDataset`` (``pipeline``, ``test_mode``, ...).
    """
    METAINFO = {'classes': tuple(str(i) for i in range(10))}

    def __init__(self, split: str = 'train', test_ratio: float = 0.2, **kwargs):
        if split not in ('train', 'test', 'all'):
            raise ValueError(f"Digits: split must be 'train', 'test' or 'all', got {split!r}")
        if not 0. < test_ratio < 1.:
            raise ValueError(f'Digits: test_ratio must lie in (0, 1), got {test_ratio}')
        self.split = split
        self.test_ratio = test_ratio
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self) -> List[dict]:
        from sklearn.datasets import load_digits
        digits = load_digits()
        images = np.round(digits.images * (255. / 16.)).astype(np.uint8)
        order = np.random.RandomState(0).permutation(len(images))
        num_test = int(round(self.test_ratio * len(images)))
        if not 0 < num_test < len(images):
            raise ValueError(f'Digits: test_ratio {self.test_ratio} leaves an empty split of the {len(images)} images')
        picked = {'train': order[:-num_test], 'test': order[-num_test:], 'all': order}[self.split]
        return [{'img': images[i], 'gt_label': int(digits.target[i])} for i in picked]
