"""The model's classes against the data's, before a run trains (issue: 3 classes for 4, 10 for 4)."""
from unittest.mock import MagicMock

import pytest
from data_writers import write_digit_folders
from helpers import REPO, tiny_darts
from mmengine.config import Config
from mmengine.runner import BaseLoop
from torch.utils.data import DataLoader

from mmdarts.datasets import SubsetDataset
from mmdarts.engine import DatasetCheckHook
from mmdarts.registry import DATASETS


class Loop(BaseLoop):
    def run(self):
        pass


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return write_digit_folders(str(tmp_path_factory.mktemp('digits')), per_class=8)


def runner_with(model, dataset, loop='_train_loop'):
    runner = MagicMock()
    runner.model = model
    for attr in ('_train_loop', '_val_loop', '_test_loop'):
        setattr(runner, attr, None)
    setattr(runner, loop, Loop(runner, DataLoader(dataset)))
    return runner


@pytest.mark.parametrize('num_classes', [3, 10])
@pytest.mark.parametrize('loop,field', [('_train_loop', 'train_dataloader'), ('_test_loop', 'test_dataloader')])
def test_a_head_for_other_classes_is_refused_naming_both(folder, num_classes, loop, field):
    half = SubsetDataset(dict(type='CustomDataset', data_root=folder, pipeline=[]), 0.0, 0.5)
    runner = runner_with(tiny_darts(num_classes=num_classes), half, loop)
    with pytest.raises(ValueError, match=rf"model.architecture.head.num_classes={num_classes}, but {field}.dataset "
                                         r"\(SubsetDataset\) holds 4 classes \['0', '1', '2', '3'\]; set "):
        DatasetCheckHook().before_run(runner)
    DatasetCheckHook().before_run(runner_with(tiny_darts(num_classes=4), half, loop))


def test_the_arch_loader_and_the_preprocessor_are_checked(folder):
    half = SubsetDataset(dict(type='CustomDataset', data_root=folder, pipeline=[]), 0.0, 0.5)
    runner = runner_with(tiny_darts(num_classes=4), half)
    runner._train_loop.arch_dataloader = DataLoader(list(range(3)))  # no classes known: nothing to check
    DatasetCheckHook().before_run(runner)
    runner._train_loop.arch_dataloader = DataLoader(SubsetDataset(
        dict(type='Digits', split='all', pipeline=[]), 0.5, 1.0))
    with pytest.raises(ValueError, match=r'num_classes=4, but arch_dataloader.dataset \(SubsetDataset\) holds 10'):
        DatasetCheckHook().before_run(runner)
    runner = runner_with(tiny_darts(num_classes=4), half)
    runner.model.data_preprocessor.num_classes = 5
    with pytest.raises(ValueError, match=r'data_preprocessor.num_classes=5 but model.architecture.head.num_classes'):
        DatasetCheckHook().before_run(runner)


def image_folder_dataset(root):
    return DATASETS.build(dict(type='CustomDataset', data_root=root, pipeline=[dict(type='LoadImageFromFile')]))


def test_an_empty_class_folder_of_a_training_loader_is_refused_naming_it(tmp_path):
    root = write_digit_folders(str(tmp_path / 'train'), per_class=4)
    (tmp_path / 'train' / '4').mkdir()
    runner = runner_with(tiny_darts(num_classes=5), image_folder_dataset(root))
    with pytest.raises(ValueError, match=rf"train_dataloader.dataset \(CustomDataset\): class\(es\) '4' "
                                         rf"\({tmp_path / 'train' / '4'}: no image file it reads\) hold no sample"):
        DatasetCheckHook(check_images=False).before_run(runner)
    # a val or test folder without some class only scores fewer classes: not refused
    DatasetCheckHook().before_run(runner_with(tiny_darts(num_classes=5), image_folder_dataset(root), '_val_loop'))


def test_a_part_allowed_to_lack_classes_passes_and_its_whole_dataset_is_checked(tmp_path):
    """SubsetDataset(require_all_classes=False) is the user's choice of a part without some classes (its error
    advises it): the hook checks the whole dataset's classes for samples, not the part's."""
    root = write_digit_folders(str(tmp_path / 'train'), per_class=4)
    half = dict(type='SubsetDataset', dataset=dict(type='CustomDataset', data_root=root, pipeline=[]), start=0.0,
                end=0.5, mode='contiguous', require_all_classes=False)
    DatasetCheckHook(check_images=False).before_run(runner_with(tiny_darts(num_classes=4), DATASETS.build(half)))
    quarter = dict(type='SubsetDataset', dataset=half, end=0.5, mode='contiguous', require_all_classes=False)
    DatasetCheckHook(check_images=False).before_run(runner_with(tiny_darts(num_classes=4), DATASETS.build(quarter)))
    (tmp_path / 'train' / 'empty').mkdir()
    runner = runner_with(tiny_darts(num_classes=5), DATASETS.build(half))
    with pytest.raises(ValueError, match=r"train_dataloader.dataset.dataset \(CustomDataset\): class\(es\) 'empty' "):
        DatasetCheckHook(check_images=False).before_run(runner)


def test_an_unreadable_image_stops_the_run_before_it_trains_naming_the_file_and_the_switch(tmp_path):
    root = write_digit_folders(str(tmp_path / 'train'), per_class=6)
    runner = runner_with(tiny_darts(num_classes=4), SubsetDataset(image_folder_dataset(root), 0.0, 0.5))
    DatasetCheckHook(num_workers=2).before_run(runner)
    broken = tmp_path / 'train' / '1' / '0005.png'
    broken.write_bytes(broken.read_bytes()[:100])  # a truncated PNG: its header reads, its pixels do not
    (tmp_path / 'train' / '2' / '0003.png').write_bytes(b'')
    with pytest.raises(ValueError, match=r'2 of 24 image files cannot be read: .*train/1/0005.png '
                                         r'\(train_dataloader: .*\); .*train/2/0003.png .*skip this check with '
                                         r'default_hooks.dataset_check.check_images=False'):
        DatasetCheckHook(num_workers=2).before_run(runner)  # the whole folder: the half reads from it all
    DatasetCheckHook(check_images=False).before_run(runner)


def test_the_search_configs_check_images_before_training():
    cfg = Config.fromfile(f'{REPO}/configs/darts_custom_search.py')
    assert cfg.default_hooks.dataset_check == dict(type='DatasetCheckHook', check_images=True, num_workers=8)
