"""Fixes for traps of the pinned stack (see the README's "Stack notes"), applied once at ``import mmdarts``.

Each fix is a no-op where the stack already works, and says what it did through its return value. The two that
must also hold for tools that never import mmdarts (the torchvision fix, ``mmdarts::`` config paths) live in the
top-level module ``mmdarts_startup``, which ``mmdarts-startup.pth`` runs at interpreter start.
"""
import os.path as osp

import torch

from mmdarts_startup import TORCHVISION_SCHEMAS, ensure_torchvision_importable, patch_mmengine_config

__all__ = ['TORCHVISION_SCHEMAS', 'ensure_torchvision_importable', 'patch_mmengine_config', 'load_local_checkpoint',
           'register_checkpoint_loader']


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
    if digit_version(torch.__version__) < digit_version('2.6.0'):  # '+cu124' and such: a local label, ignored
        return False
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)
    return True
