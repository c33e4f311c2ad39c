import os

import numpy as np
import pytest
from data_writers import write_fake_cifar10
from mmpretrain.datasets import CIFAR10

from mmdarts.datasets import Digits, LocalCIFAR10, SubsetDataset


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    return write_fake_cifar10(str(tmp_path_factory.mktemp('cifar')), num_train=50, num_test=10)


def test_local_cifar_reads_the_official_format(cifar_root):
    train = LocalCIFAR10(data_root=cifar_root, split='train')
    test = LocalCIFAR10(data_root=cifar_root, split='test')
    assert len(train) == 50 and len(test) == 10
    info = train.get_data_info(0)
    assert info['img'].shape == (32, 32, 3) and info['img'].dtype == np.uint8 and 0 <= info['gt_label'] < 10


def test_mmpretrain_cifar_refuses_local_copies(cifar_root):
    """The md5 check is real, which is why LocalCIFAR10 exists."""
    with pytest.raises(RuntimeError, match='Cannot find CIFAR10'):
        CIFAR10(data_root=cifar_root, split='train', download=False)


def test_local_cifar_names_missing_files(cifar_root, tmp_path):
    write_fake_cifar10(str(tmp_path), num_train=10, num_test=2)
    os.remove(tmp_path / 'cifar-10-batches-py' / 'data_batch_3')
    with pytest.raises(FileNotFoundError, match='data_batch_3'):
        LocalCIFAR10(data_root=str(tmp_path), split='train')
    with pytest.raises(ValueError, match='local files only'):
        LocalCIFAR10(data_root=cifar_root, download=True)


def test_contiguous_halves_are_index_ranges(cifar_root):
    first = SubsetDataset(dict(type='LocalCIFAR10', data_root=cifar_root, split='train'), 0.0, 0.5, 'contiguous')
    second = SubsetDataset(dict(type='LocalCIFAR10', data_root=cifar_root, split='train'), 0.5, 1.0, 'contiguous')
    full = LocalCIFAR10(data_root=cifar_root, split='train')
    assert len(first) == len(second) == 25
    images = [d.get_data_info(i)['img'] for d in (first, second) for i in range(len(d))]
    assert all(np.array_equal(a, full.get_data_info(i)['img']) for i, a in enumerate(images))
    assert first.metainfo['classes'][0] == 'airplane'
    assert len(SubsetDataset(list(range(10)), 2, 7, 'contiguous', require_all_classes=False)) == 5


def test_subset_refuses_bad_ranges():
    with pytest.raises(ValueError, match='expected 0 <= start < end <= 4'):
        SubsetDataset(list(range(4)), 0.5, 0.25, 'contiguous', require_all_classes=False)
    with pytest.raises(ValueError, match='must lie in'):
        SubsetDataset(list(range(4)), 0, 1.5, 'contiguous', require_all_classes=False)
    with pytest.raises(ValueError, match="mode must be one of"):
        SubsetDataset(list(range(4)), 0, 1.0, 'random')


def test_digits_splits():
    train, test = Digits(split='train'), Digits(split='test')
    assert len(train) + len(test) == 1797 and len(test) == 359
    info = train.get_data_info(0)
    assert info['img'].shape == (8, 8) and info['img'].max() <= 255
    with pytest.raises(ValueError, match="split must be 'train'"):
        Digits(split='val')
    for ratio in (1e-4, 0.9999):  # in (0, 1), but a split of no image
        with pytest.raises(ValueError, match=f'test_ratio {ratio} leaves an empty split'):
            Digits(split='train', test_ratio=ratio)
