"""Search halves: disjoint, covering, and each drawn from every class (issue: halves of a class-ordered folder)."""
import numpy as np
import pytest
from data_writers import write_digit_folders
from hypothesis import given, settings
from hypothesis import strategies as st

from mmdarts.datasets import SubsetDataset, check_disjoint_parts, stratified_indices


class Labelled:
    """A dataset with labels only (as get_data_info gives them)."""

    def __init__(self, labels, classes=None):
        self.labels = list(labels)
        self.metainfo = {'classes': classes} if classes else {}

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.labels[i]

    def get_data_info(self, i):
        return {'gt_label': self.labels[i]}


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    """4 classes of 60 digit images, listed class by class as CustomDataset reads an image folder."""
    return write_digit_folders(str(tmp_path_factory.mktemp('digits')), per_class=60)


def folder_cfg(root):
    return dict(type='CustomDataset', data_root=root, pipeline=[])


def test_a_class_ordered_folder_gives_both_halves_every_class(folder):
    first, second = SubsetDataset(folder_cfg(folder), 0.0, 0.5), SubsetDataset(folder_cfg(folder), 0.5, 1.0)
    assert first.class_counts() == second.class_counts() == {'0': 30, '1': 30, '2': 30, '3': 30}
    assert not set(first.indices) & set(second.indices)
    assert sorted(np.concatenate([first.indices, second.indices])) == list(range(240))
    # the same images a user's loader reads: each half's paths cover all four class folders
    paths = {first.get_data_info(i)['img_path'].split('/')[-2] for i in range(len(first))}
    assert paths == {'0', '1', '2', '3'}


def test_the_contiguous_cut_of_that_folder_is_refused_with_the_counts(folder):
    """What SubsetDataset did before: the α half held classes 2 and 3 only, and the search learned nothing."""
    with pytest.raises(ValueError, match=r"holds no sample of class\(es\) \['0', '1'\].*this part \{'0': 0, '1': 0, "
                                         r"'2': 60, '3': 60\}.*mode='stratified'"):
        SubsetDataset(folder_cfg(folder), 0.5, 1.0, mode='contiguous')
    part = SubsetDataset(folder_cfg(folder), 0.5, 1.0, mode='contiguous', require_all_classes=False)
    assert list(part.indices) == list(range(120, 240))


def test_the_split_is_seeded_and_deterministic():
    labels = Labelled(np.arange(100) % 5)
    a, b = SubsetDataset(labels, 0.0, 0.5, seed=3), SubsetDataset(labels, 0.0, 0.5, seed=3)
    assert np.array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, SubsetDataset(labels, 0.0, 0.5, seed=4).indices)
    assert a.get_gt_labels().tolist() == [labels.labels[i] for i in a.indices]
    assert [a[i] for i in range(len(a))] == a.get_gt_labels().tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=80), st.floats(0.05, 0.95), st.integers(0, 2**31 - 1))
def test_adjacent_parts_are_disjoint_cover_and_proportional(labels, cut, seed):
    labels = np.asarray(labels)
    first, second = stratified_indices(labels, 0.0, cut, seed), stratified_indices(labels, cut, 1.0, seed)
    assert not set(first) & set(second)
    assert sorted(np.concatenate([first, second]).tolist()) == list(range(len(labels)))
    assert len(first) == round(cut * len(labels))  # the whole is cut at the fraction, not each class rounded
    for label in np.unique(labels):
        total, taken = int((labels == label).sum()), int((labels[first] == label).sum())
        assert abs(taken - cut * total) < 1 + 1e-9  # every class in its share, to one sample


def test_a_class_too_small_for_two_halves_is_named_with_the_config_key_that_allows_it():
    labels = Labelled([0] * 10 + [1] * 10 + [2], classes=['cat', 'dog', 'bird'])
    with pytest.raises(ValueError, match=r"class\(es\) \['bird'\].*classes with one sample: \['bird'\].*"
                                         r'--cfg-options train_dataloader.dataset.require_all_classes=False '
                                         r'arch_dataloader.dataset.require_all_classes=False'):
        SubsetDataset(labels, 0.0, 0.5)
    SubsetDataset(labels, 0.0, 0.5, require_all_classes=False)


def test_an_empty_class_folder_is_refused_naming_the_folder(tmp_path):
    """mmpretrain's CustomDataset lists an empty class folder as a class (and only warns): a search would train
    a head for a class it never sees, and score against it."""
    root = write_digit_folders(str(tmp_path / 'train'), per_class=6)
    (tmp_path / 'train' / '9').mkdir()
    for require in (True, False):
        with pytest.raises(ValueError, match=rf"class\(es\) '9' \({tmp_path / 'train' / '9'}: no image file it "
                                             r"reads\) hold no sample, of 5 classes \{'0': 6, '1': 6, '2': 6, '3': 6, "
                                             r"'9': 0\}; add images there, or remove the class folder"):
            SubsetDataset(folder_cfg(root), 0.0, 0.5, require_all_classes=require)


def test_stratified_parts_take_fractions_not_indices():
    with pytest.raises(ValueError, match="only mode='contiguous' takes"):
        SubsetDataset(Labelled([0, 1] * 5), 0, 5)
    with pytest.raises(TypeError, match='without a single class label'):
        SubsetDataset(Labelled([[0, 1], [1, 0]]), 0.0, 0.5)


def test_overlapping_search_halves_are_refused():
    labels = Labelled(np.arange(40) % 4)
    first = SubsetDataset(labels, 0.0, 0.5, seed=0)
    check_disjoint_parts(first, SubsetDataset(labels, 0.5, 1.0, seed=0), 'train', 'arch')
    with pytest.raises(ValueError, match=r'train_dataloader.dataset and arch_dataloader.dataset share \d+ of'):
        check_disjoint_parts(first, SubsetDataset(labels, 0.5, 1.0, seed=1), 'train_dataloader.dataset',
                             'arch_dataloader.dataset')
    # parts of different datasets may hold the same indices
    check_disjoint_parts(first, SubsetDataset(Labelled(np.arange(40) % 2), 0.0, 0.5), 'train', 'arch')
