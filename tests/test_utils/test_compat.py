"""The stack traps of the README's set-up section, each shown real and then handled."""
import os

import pytest
import torch
from helpers import REPO, run_python
from mmengine.logging import HistoryBuffer

from mmdarts.utils import ensure_torchvision_importable, load_local_checkpoint


def test_torchvision_and_mmpretrain_import_after_mmdarts():
    result = run_python(['-c', 'import mmdarts, torchvision, mmpretrain.models, mmpretrain.datasets; '
                         'print("status", mmdarts.TORCHVISION_STATUS)'], timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'status' in result.stdout


def test_torchvision_fix_is_a_no_op_where_ops_exist():
    assert ensure_torchvision_importable() == 'native'  # they exist now, one way or the other: nothing done


def test_torchvision_fix_prefers_the_real_library():
    """With a library that loads (here a stand-in that defines the ops), no schemas are defined by mmdarts."""
    code = f'''
import importlib.util, sys, torch
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "StartupFinder"]  # mmdarts-startup.pth's
spec = importlib.util.spec_from_file_location("startup", {os.path.join(REPO, "mmdarts_startup.py")!r})
startup = importlib.util.module_from_spec(spec); spec.loader.exec_module(startup)
libs = []
def fake_load(path):
    lib = torch.library.Library("torchvision", "DEF"); libs.append(lib)
    for s in startup.TORCHVISION_SCHEMAS: lib.define(s)
print(startup.ensure_torchvision_importable(fake_load), startup._torchvision_library is None)
'''
    result = run_python(['-c', code], timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ['loaded', 'True']


def test_resume_checkpoints_load(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path = str(tmp_path / 'epoch_1.pth')
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save({'message_hub': {'log_scalars': {'loss': buffer}}, 'state_dict': {}}, path)
    with pytest.raises(Exception, match='HistoryBuffer'):
        torch.load(path)  # the trap: weights_only=True by default
    loaded = _load_checkpoint(path, map_location='cpu')  # mmengine's loader, as --resume calls it
    assert isinstance(loaded['message_hub']['log_scalars']['loss'], HistoryBuffer)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_local_checkpoint(str(tmp_path / 'missing.pth'))


def test_mmpretrain_config_inheritance(tmp_path):
    from mmengine.config import Config
    cfg_file = tmp_path / 'inherit.py'
    cfg_file.write_text("_base_ = ['mmpretrain::_base_/default_runtime.py']\nmodel = dict(type='mmdarts.Darts')\n")
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.default_scope == 'mmpretrain' and cfg.model.type == 'mmdarts.Darts'
