"""README's "Add your own op", as written: the op file and the config, loaded and searched one step."""
import re

import torch
from helpers import optim_wrappers, raw_batch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from test_custom_data import code_blocks, readme_section

from mmdarts.registry import CANDIDATE_OPS, MODELS


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
