"""Checkpoint files that survive a kill: atomic local writes, and resuming from the newest complete checkpoint."""
import glob
import os
import os.path as osp
import re
import tempfile
import zipfile
from typing import List, Optional, Tuple, Union

import torch
from mmengine.fileio.backends import LocalBackend, register_backend


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, but every write goes to a temporary file in the same folder that replaces
    the target only once complete: a process killed while saving a checkpoint leaves the previous file intact
    (or none), never a truncated one."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        atomic_write(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, os.PathLike], encoding: str = 'utf-8') -> None:
        atomic_write(str(filepath), obj.encode(encoding))


def atomic_write(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file in the same folder: never a half-written file."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def register_atomic_local_backend() -> None:
    """Makes mmengine write local files (checkpoints among them) through :class:`AtomicLocalBackend`."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    from mmengine.fileio import io as mmengine_io
    for key, backend in list(mmengine_io.backend_instances.items()):  # cached plain local backends
        if type(backend) is LocalBackend:
            del mmengine_io.backend_instances[key]


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole ``torch.save`` file: its zip directory, written last, is intact."""
    return osp.isfile(path) and zipfile.is_zipfile(path)


def _numbered(work_dir: str) -> List[str]:
    def number(p: str) -> int:
        match = re.search(r'(\d+)\.pth$', p)
        return int(match.group(1)) if match else -1
    files = glob.glob(osp.join(work_dir, 'epoch_*.pth')) + glob.glob(osp.join(work_dir, 'iter_*.pth'))
    return sorted(files, key=lambda p: (number(p), osp.getmtime(p)), reverse=True)


def choose_resume_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The checkpoint ``--resume`` continues from, and a note for each file passed over, newest first.

    The one ``last_checkpoint`` names if it lies in ``work_dir`` and is complete; a name outside ``work_dir``
    (the work dir was moved or copied: mmengine writes absolute paths) is looked for by its file name inside it.
    Otherwise, and for a truncated file, the newest complete ``epoch_*.pth`` / ``iter_*.pth`` of ``work_dir``.
    None if there is none.
    """
    skipped: List[str] = []
    candidates = []
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            named = f.read().strip()
        if named:
            named = osp.join(work_dir, named)  # an absolute name (mmengine writes them) stays as it is
            if osp.commonpath([osp.realpath(named), osp.realpath(work_dir)]) != osp.realpath(work_dir):
                skipped.append(f'{named}: named by last_checkpoint but outside the work dir (moved or copied?); '
                               f'looked for {osp.basename(named)} in {work_dir} instead')
                named = osp.join(work_dir, osp.basename(named))
            candidates.append(named)
    for path in candidates + [p for p in _numbered(work_dir) if p not in candidates]:
        if is_complete_checkpoint(path):
            return path, skipped
        why = 'does not exist' if not osp.exists(path) else 'incomplete (a truncated write: no zip directory)'
        skipped.append(f'{path}: {why}')
    return None, skipped


def check_checkpoint_fits(model: torch.nn.Module, path: str, hint: str = '') -> None:
    """The weights of checkpoint ``path`` must be those of ``model``: same names, same shapes.

    mmengine loads checkpoints non-strictly and only warns, so a checkpoint of another architecture (another
    genotype, other channels) would be tested as a half-random network and give a meaningless score.

    Raises:
        ValueError: with the counts and first examples of missing, unexpected and reshaped weights, and ``hint``.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    checkpoint = _load_checkpoint(path, map_location='cpu')
    saved = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    saved = {k.removeprefix('module.'): v for k, v in saved.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    reshaped = [f'{k}: {tuple(saved[k].shape)} in the checkpoint, {tuple(own[k].shape)} in the model'
                for k in own if k in saved and hasattr(saved[k], 'shape') and saved[k].shape != own[k].shape]
    if not (missing or unexpected or reshaped):
        return
    parts = [f'{len(items)} {what} (e.g. {items[:3]})' for what, items in
             (('weights missing from it', missing), ('weights the model lacks', unexpected),
              ('weights of another shape', reshaped)) if items]
    raise ValueError(f'checkpoint {path} does not fit the model of this config: {"; ".join(parts)}. {hint}'.strip())
