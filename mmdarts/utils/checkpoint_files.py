"""Checkpoint files that survive a kill: atomic local writes, and resuming from the newest complete checkpoint."""
import glob
import os
import os.path as osp
import re
import tempfile
import zipfile
from typing import List, Optional, Union

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


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` should continue from: the one ``last_checkpoint`` names if it is complete,
    else the newest complete ``epoch_*.pth`` / ``iter_*.pth``; None if there is none."""
    candidates = []
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            named = f.read().strip()
        if named:
            candidates.append(named if osp.isabs(named) else osp.join(work_dir, osp.basename(named)))
    for path in candidates + _numbered(work_dir):
        if is_complete_checkpoint(path):
            return path
    return None
