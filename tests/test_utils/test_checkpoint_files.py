import os
import shutil

import pytest
import torch
from mmengine.fileio import get_file_backend

from mmdarts.utils import (
    AtomicLocalBackend,
    check_checkpoint_fits,
    choose_resume_checkpoint,
    is_complete_checkpoint,
)


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
    assert choose_resume_checkpoint(str(tmp_path))[0] == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text('')  # killed while writing the pointer
    assert choose_resume_checkpoint(str(tmp_path))[0] == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert choose_resume_checkpoint(str(tmp_path))[0] == str(tmp_path / 'epoch_1.pth')
    assert choose_resume_checkpoint(str(tmp_path / 'none'))[0] is None


def test_resume_names_what_it_passed_over_and_why(tmp_path):
    save(tmp_path / 'epoch_1.pth', 1)
    data = (tmp_path / 'epoch_1.pth').read_bytes()
    (tmp_path / 'epoch_2.pth').write_bytes(data[:100])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    chosen, skipped = choose_resume_checkpoint(str(tmp_path))
    assert chosen == str(tmp_path / 'epoch_1.pth')
    assert skipped == [f'{tmp_path / "epoch_2.pth"}: incomplete (a truncated write: no zip directory)']


def test_a_moved_work_dir_resumes_from_its_own_files(tmp_path):
    """mmengine writes last_checkpoint as an absolute path: after a move it names the old place."""
    old, new = tmp_path / 'old', tmp_path / 'new'
    old.mkdir()
    for epoch in (1, 2, 3):
        save(old / f'epoch_{epoch}.pth', epoch)
    (old / 'last_checkpoint').write_text(str(old / 'epoch_2.pth'))
    shutil.copytree(old, new)
    chosen, skipped = choose_resume_checkpoint(str(new))
    assert chosen == str(new / 'epoch_2.pth')  # the file last_checkpoint names, found inside the moved dir
    assert 'outside the work dir' in skipped[0]
    shutil.rmtree(old)
    (new / 'epoch_2.pth').unlink()
    chosen, skipped = choose_resume_checkpoint(str(new))
    assert chosen == str(new / 'epoch_3.pth') and 'does not exist' in skipped[1]


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, str(tmp_path / 'same.pth'))
    check_checkpoint_fits(model, str(tmp_path / 'same.pth'))
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 8, 1))
    torch.save({'meta': {}, 'state_dict': other.state_dict()}, str(tmp_path / 'other.pth'))
    with pytest.raises(ValueError, match=r'does not fit the model of this config: 2 weights the model lacks '
                                         r"\(e.g. \['3.weight', '3.bias'\]\); 6 weights of another shape .*0.weight: "
                                         r'\(8, 3, 3, 3\) in the checkpoint, \(4, 3, 3, 3\) in the model'):
        check_checkpoint_fits(model, str(tmp_path / 'other.pth'))
