"""Data the tests write in the real on-disk formats: a fake CIFAR-10 and an image folder of scikit-learn's digits."""
import os
import os.path as osp
import pickle
from typing import Sequence

import numpy as np

CIFAR10_TRAIN_FILES = [f'data_batch_{i}' for i in range(1, 6)]


def write_fake_cifar10(root: str, num_train: int = 100, num_test: int = 20, seed: int = 0) -> str:
    """Writes random images in CIFAR-10's on-disk format (``cifar-10-batches-py``, pickled dicts with str keys
    ``'data'`` of shape ``(N, 3072)`` uint8 and ``'labels'``), training images spread over the five batch files.

    Labels are balanced as in the real data (every class ``n // 10`` or ``n // 10 + 1`` times, in random order) and
    learnable: each class has its own mean colour. Returns the folder to use as ``data_root``.
    """
    rng = np.random.RandomState(seed)
    folder = osp.join(root, 'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)

    def batch(labels: np.ndarray) -> dict:
        n = len(labels)
        means = (labels[:, None] * 25 + 5).astype(np.float64)
        data = np.clip(rng.normal(means, 40., size=(n, 3072)), 0, 255).astype(np.uint8)
        return {'data': data, 'labels': [int(x) for x in labels]}

    train_labels = rng.permutation(np.arange(num_train) % 10)
    for name, labels in zip(CIFAR10_TRAIN_FILES, np.array_split(train_labels, len(CIFAR10_TRAIN_FILES))):
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(batch(labels), f)
    with open(osp.join(folder, 'test_batch'), 'wb') as f:
        pickle.dump(batch(rng.permutation(np.arange(num_test) % 10)), f)
    with open(osp.join(folder, 'batches.meta'), 'wb') as f:
        pickle.dump({'label_names': ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
                                     'ship', 'truck']}, f)
    return root


def write_digit_folders(root: str, classes: Sequence[int] = (0, 1, 2, 3), per_class: int = 60, size: int = 32,
                        offset: int = 0) -> str:
    """Writes scikit-learn's handwritten digits (shipped with the package) as an image folder, the layout of
    mmpretrain's ``CustomDataset``: ``root/<digit>/<n>.png``, one folder per class, RGB ``size`` x ``size`` PNG.

    Files are listed class by class, as a user's own folder is. ``offset`` skips that many images of each class
    (e.g. a val folder of other images than the train one). Returns ``root``.
    """
    import cv2
    from sklearn.datasets import load_digits
    digits = load_digits()
    for digit in classes:
        images = digits.images[digits.target == digit][offset:offset + per_class]
        if len(images) < per_class:
            raise ValueError(f'write_digit_folders: digit {digit} has {len(images) + offset} images, '
                             f'{offset + per_class} asked for')
        folder = osp.join(root, str(digit))
        os.makedirs(folder, exist_ok=True)
        for i, image in enumerate(images):
            grey = cv2.resize(np.round(image * (255. / 16.)).astype(np.uint8), (size, size),
                              interpolation=cv2.INTER_LINEAR)
            cv2.imwrite(osp.join(folder, f'{i:04d}.png'), np.repeat(grey[:, :, None], 3, axis=2))
    return root
