import os
import os.path as osp
from typing import Sequence

import numpy as np


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
