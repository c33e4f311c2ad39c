"""What a dataset says of its classes, and the checks that stop a run whose model and data disagree on them."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from torch.utils.data import Dataset


def dataset_classes(dataset: Dataset) -> Optional[List[str]]:
    """The class names of ``dataset``'s metainfo (mmpretrain datasets carry them), or None."""
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    return [str(c) for c in classes] if classes else None


def dataset_labels(dataset: Dataset, where: str) -> np.ndarray:
    """The single-label class index of every sample of ``dataset``, read from its annotations (no image is loaded).

    Raises:
        TypeError: naming ``where`` when the dataset gives no per-sample ``gt_label`` or a multi-label one.
    """
    if hasattr(dataset, 'get_gt_labels'):
        labels = dataset.get_gt_labels()
    elif hasattr(dataset, 'get_data_info'):
        labels = [dataset.get_data_info(i).get('gt_label') for i in range(len(dataset))]
    else:
        raise TypeError(f'{where}: {type(dataset).__name__} gives no class labels (no get_gt_labels or '
                        "get_data_info); use mode='contiguous'")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        labels = None
    if labels is None or labels.shape != (len(dataset), ):
        raise TypeError(f'{where}: {type(dataset).__name__} has samples without a single class label (gt_label); '
                        "a stratified part needs one per sample: use mode='contiguous'")
    return labels


def class_counts(labels: np.ndarray, classes: Optional[Sequence[str]]) -> Dict[str, int]:
    """``{class name: samples}`` for every class of ``classes`` and every label present, zeros included."""
    num = max(len(classes) if classes else 0, int(labels.max()) + 1 if len(labels) else 0)
    counts = np.bincount(labels, minlength=num)
    return {(classes[i] if classes and i < len(classes) else str(i)): int(counts[i]) for i in range(num)}


def check_num_classes(num_classes: int, dataset: Dataset, field: str, where: str) -> None:
    """The model's ``num_classes`` must equal the number of classes of ``dataset`` (its metainfo), and every
    label of a dataset that lists them must be below it.

    Raises:
        ValueError: naming ``field`` (the model's setting) and ``where`` (the loader).
    """
    classes = dataset_classes(dataset)
    if classes is not None and len(classes) != num_classes:
        shown = classes if len(classes) <= 12 else classes[:12] + ['...']
        raise ValueError(f'{field}={num_classes}, but {where} ({type(dataset).__name__}) holds {len(classes)} classes '
                         f'{shown}; set {field} (and data_preprocessor.num_classes) to {len(classes)}')
    labels = getattr(dataset, 'labels', None)
    if isinstance(labels, np.ndarray) and len(labels) and int(labels.max()) >= num_classes:
        raise ValueError(f'{field}={num_classes}, but {where} ({type(dataset).__name__}) has labels up to '
                         f'{int(labels.max())}; {field} must be at least {int(labels.max()) + 1}')


def check_every_class_has_samples(dataset: Dataset, labels: np.ndarray, where: str) -> None:
    """Every class ``dataset`` lists (its metainfo) must have a sample: an image folder with an empty class
    folder lists the class, and a search over it would train a head with a class it never sees.

    Raises:
        ValueError: naming ``where``, the classes and their folders.
    """
    classes = dataset_classes(dataset)
    if not classes:
        return
    counts = class_counts(labels, classes)
    empty = [name for name in classes if not counts.get(name)]
    if not empty:
        return
    prefix = getattr(dataset, 'img_prefix', None)  # the image folder of mmpretrain's CustomDataset
    folders = [osp.join(prefix, name) if isinstance(prefix, str) else '' for name in empty]
    shown = [f'{name!r} ({folder}: no image file it reads)' if osp.isdir(folder) else repr(name)
             for name, folder in zip(empty, folders)]
    raise ValueError(f'{where} ({type(dataset).__name__}): class(es) {", ".join(shown)} hold no sample, of '
                     f'{len(classes)} classes {counts}; add images there, or remove the class folder and set the '
                     f'head\'s num_classes (and data_preprocessor.num_classes) to {len(classes) - len(empty)}')
