import os

import pytest
import torch
from mmengine.fileio import get_file_backend

from mmdarts.utils import AtomicLocalBackend, find_resumable_checkpoint, is_complete_checkpoint


def test_mmengine_writes_local_files_atomically(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path)), AtomicLocalBackend)


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    backend = AtomicLocalBackend()
    path = tmp_path / 'epoch_1.pth'
    backend.put(b'old complete content', str(path))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill between writing and renaming would

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'new', str(path))
    assert path.read_bytes() == b'old complete content'
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']  # no temporary left behind


def save(path, value):
    torch.save({'x': torch.full((1000, ), float(value))}, str(path))


def test_resume_skips_truncated_checkpoints_and_empty_pointer(tmp_path):
    save(tmp_path / 'epoch_1.pth', 1)
    save(tmp_path / 'epoch_2.pth', 2)
    data = (tmp_path / 'epoch_2.pth').read_bytes()
    (tmp_path / 'epoch_3.pth').write_bytes(data[:len(data) // 2])  # killed while writing epoch 3
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    assert not is_complete_checkpoint(str(tmp_path / 'epoch_3.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text('')  # killed while writing the pointer
    assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')
    assert find_resumable_checkpoint(str(tmp_path / 'none')) is None
