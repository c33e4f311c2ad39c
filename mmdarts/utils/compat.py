"""Fixes for traps of the pinned stack (see the README's "Stack notes"), applied once at ``import mmdarts``.

Each fix is a no-op where the stack already works, and says what it did through its return value.
"""
import glob
import importlib.util
import os.path as osp
from typing import Callable, Optional

import torch

# Keeps the schema definitions alive: a torch.library.Library removes its definitions when collected.
_TORCHVISION_LIBRARY: Optional[torch.library.Library] = None
_TORCHVISION_SCHEMAS = ('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
                        'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')


def _torchvision_ops_defined() -> bool:
    try:
        torch.ops.torchvision.nms
    except (AttributeError, RuntimeError):
        return False
    return True


def ensure_torchvision_importable(load_library: Callable[[str], None] = torch.ops.load_library) -> str:
    """Makes ``import torchvision`` work with a torch it was not built for.

    A CUDA build of torchvision beside a CPU torch cannot load its compiled ops, yet registers fake kernels for
    ``torchvision::nms`` and ``qnms`` unguarded, so ``import torchvision`` (and with it ``mmpretrain.models``) raises
    ``operator torchvision::nms does not exist``. This first tries to load torchvision's own ``_C`` library; only if
    that fails does it define the two operator schemas, without kernels, so pure-Python torchvision imports. Its
    compiled ops stay unavailable (mmdarts uses none).

    Returns:
        str: ``'absent'`` (no torchvision), ``'native'`` (its ops were already there), ``'loaded'`` (its library
        loaded) or ``'schemas'`` (the library did not load; schemas defined).
    """
    global _TORCHVISION_LIBRARY
    spec = importlib.util.find_spec('torchvision')
    if spec is None or spec.origin is None:
        return 'absent'
    if _torchvision_ops_defined():
        return 'native'
    for lib in sorted(glob.glob(osp.join(osp.dirname(spec.origin), '_C*.so')) +
                      glob.glob(osp.join(osp.dirname(spec.origin), '_C*.pyd'))):
        try:
            load_library(lib)
        except (OSError, RuntimeError):
            continue
        if _torchvision_ops_defined():
            return 'loaded'
    _TORCHVISION_LIBRARY = torch.library.Library('torchvision', 'DEF')
    for schema in _TORCHVISION_SCHEMAS:
        _TORCHVISION_LIBRARY.define(schema)
    return 'schemas'


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's local checkpoint loader, but with ``weights_only=False``.

    torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7's loader does not say otherwise,
    so ``--resume`` fails on ``mmengine.logging.history_buffer.HistoryBuffer``. mmengine checkpoints hold such objects;
    they are the user's own files (a work dir, a ``load_from`` path), which is what ``weights_only=False`` is for.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def register_checkpoint_loader() -> bool:
    """Registers :func:`load_local_checkpoint` for local paths when torch loads ``weights_only`` by default.

    Returns:
        bool: whether the loader was registered.
    """
    from mmengine.runner import CheckpointLoader
    from mmengine.utils import digit_version
    if digit_version(torch.__version__.split('+')[0]) < digit_version('2.6.0'):
        return False
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)
    return True
