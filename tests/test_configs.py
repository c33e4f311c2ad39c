"""Every config under configs/ builds, and its model runs a forward (timm's habit: nothing registered goes untested)."""
import glob
import os.path as osp

import pytest
import torch
from helpers import REPO
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from mmdarts.registry import DATASETS, MODELS

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)


def test_configs_are_found():
    names = {osp.basename(p) for p in CONFIGS}
    assert {'darts_cifar10.py', 'darts_cifar10_first_order.py', 'darts_digits_demo.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdarts'
    init_default_scope('mmdarts')
    model_cfg = cfg.model.to_dict()
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg).eval()
    backbone = cfg.model.architecture.backbone
    x = torch.randn(2, backbone.get('in_channels', 3), 32, 32)
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, cfg.model.architecture.head.num_classes)
    assert cfg.optim_wrapper.constructor == 'DartsOptimWrapperConstructor'
    assert cfg.train_cfg.type == 'DartsSearchLoop' and 'arch_dataloader' in cfg
    assert any(h['type'] == 'GenotypeExportHook' for h in cfg.custom_hooks)
    DefaultScope._instance_dict.clear()


def test_paper_settings_of_the_cifar10_search():
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_cifar10.py'))
    assert cfg.model.unroll is True and cfg.train_cfg.max_epochs == 50
    assert cfg.train_dataloader.batch_size == cfg.arch_dataloader.batch_size == 64
    sgd = cfg.optim_wrapper.architecture
    assert (sgd.optimizer.lr, sgd.optimizer.momentum, sgd.optimizer.weight_decay) == (0.025, 0.9, 3e-4)
    assert sgd.clip_grad.max_norm == 5
    adam = cfg.optim_wrapper.mutator.optimizer
    assert (adam.type, adam.lr, tuple(adam.betas), adam.weight_decay) == ('Adam', 3e-4, (0.5, 0.999), 1e-3)
    assert cfg.param_scheduler.architecture[0].eta_min == 0.001 and cfg.param_scheduler.mutator == []
    halves = (cfg.train_dataloader.dataset, cfg.arch_dataloader.dataset)
    assert [(d.start, d.end) for d in halves] == [(0.0, 0.5), (0.5, 1.0)]
    assert Config.fromfile(osp.join(REPO, 'configs/darts_cifar10_first_order.py')).model.unroll is False


def test_demo_datasets_build():
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_digits_demo.py'))
    with DefaultScope.overwrite_default_scope('mmdarts'):
        train = DATASETS.build(cfg.train_dataloader.dataset)
        arch = DATASETS.build(cfg.arch_dataloader.dataset)
        val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(train) + len(arch) == 1438 and len(val) == 359
    sample = train[0]
    assert sample['inputs'].shape == (1, 8, 8)
