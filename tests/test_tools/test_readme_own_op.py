"""README's "Add your own op", as written: the op file and the config, loaded and searched one step; and (slow)
the commands of its bash block, in a folder laid out as a clone is, on a fake CIFAR-10."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from data_writers import write_fake_cifar10
from helpers import REPO, optim_wrappers, raw_batch, subprocess_env
from mmengine.config import Config
from mmengine.registry import DefaultScope
from test_custom_data import code_blocks, commands, readme_section, run
from test_train import tiny_options

from mmdarts.registry import CANDIDATE_OPS, MODELS
from mmdarts.structures import Genotype


def test_readme_op_is_searched_from_its_config(tmp_path, monkeypatch):
    files = {}
    for block in code_blocks(readme_section('Add your own op'), 'python'):
        name = re.match(r'# (\S+\.py)\n', block).group(1)
        files[name] = block
        (tmp_path / name).write_text(block)
    assert set(files) == {'my_ops.py', 'my_search.py'}
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(tmp_path / 'my_search.py'))
    assert 'conv_7x1_1x7' in CANDIDATE_OPS.module_dict
    backbone = cfg.model.architecture.backbone
    assert backbone.primitives[-1] == 'conv_7x1_1x7'
    small = dict(base_channels=4, num_layers=3, num_nodes=2, edge_layout='batched')
    with DefaultScope.overwrite_default_scope('mmdarts'):
        model_cfg = cfg.model.to_dict()
        model_cfg['architecture']['backbone'].update(small)
        model_cfg['architecture']['head'].update(in_channels=2 * 4 * 4)
        model = MODELS.build(model_cfg)
    model.memory_format = 'contiguous'
    logs = model.train_step(dict(train=raw_batch(size=16, num_classes=10), arch=raw_batch(size=16, num_classes=10,
                                                                                       seed=1)),
                            optim_wrappers(model))
    assert all(torch.isfinite(v).all() for v in logs.values())
    generic = {backbone.primitives[o] for cell in model.architecture.backbone.cells for wave in cell._plan().waves
               for o in wave.generic}
    assert generic == {'conv_7x1_1x7'}


@pytest.mark.slow  # searches through tools/train.py: `make test-slow`
def test_readme_own_op_is_searched_and_drawn_by_the_tools_as_written(tmp_path):
    for name in ('configs', 'tools'):
        os.symlink(osp.join(REPO, name), tmp_path / name)
    os.symlink(sys.prefix, tmp_path / '.venv')
    write_fake_cifar10(str(tmp_path / 'data/cifar10'), num_train=32, num_test=8)
    section = readme_section('Add your own op')
    for block in code_blocks(section, 'python'):
        (tmp_path / block.splitlines()[0].lstrip('# ').strip()).write_text(block)
    search, export, plot = commands(code_blocks(section, 'bash')[0])
    # the paper's search, made small enough for a test (1 epoch, 3 cells of 2 nodes, 4 channels, batches of 8)
    small = ' '.join(tiny_options('data/cifar10', 1)[1:])

    log = run(f'{search} --cfg-options {small}', tmp_path)
    assert "['conv_7x1_1x7'] as generic modules" in log  # the op is searched, in the waves
    searched = Genotype.from_file(str(tmp_path / 'work_dirs/my_search/genotype.json'))
    assert searched.meta['primitives'][-1] == 'conv_7x1_1x7'

    # the export reads the op from the config's custom_imports: a genotype that chose it is drawn too
    with_op = searched.to_dict()
    with_op['normal'][0][0] = 'conv_7x1_1x7'
    (tmp_path / 'work_dirs/my_search/genotype.json').write_text(json.dumps(with_op))
    run(export, tmp_path)
    out = tmp_path / 'work_dirs/my_search/export'
    assert Genotype.from_file(str(out / 'genotype.json')).normal[0][0] == 'conv_7x1_1x7'
    assert all((out / f'genotype_{cell}.png').exists() for cell in ('normal', 'reduce'))
    run(plot, tmp_path)
    assert all((tmp_path / f'pictures/genotype_{cell}.{ext}').exists() for cell in ('normal', 'reduce')
               for ext in ('png', 'svg'))

    for command in (export, plot):  # the README's reason for PYTHONPATH
        without_path = subprocess.run(['bash', '-c', command.replace('PYTHONPATH=. ', '')], cwd=tmp_path,
                                      env=subprocess_env(), capture_output=True, text=True, timeout=300)
        assert without_path.returncode != 0
        assert 'Failed to import custom modules' in without_path.stderr and 'Traceback' not in without_path.stderr
