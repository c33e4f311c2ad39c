"""Every config under configs/ builds, and its model runs a forward (timm's habit: nothing registered goes untested)."""
import glob
import inspect
import os.path as osp

import pytest
import torch
from helpers import REPO
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from mmdarts.apis import complete_model_config
from mmdarts.models import DartsNet
from mmdarts.registry import DATASETS, MODELS

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)


def test_configs_are_found():
    names = {osp.basename(p) for p in CONFIGS}
    assert {'darts_cifar10.py', 'darts_cifar10_first_order.py', 'darts_digits_demo.py', 'darts_cifar10_retrain.py',
            'darts_cifar100_search.py', 'darts_cifar100_retrain.py', 'darts_imagenet_retrain.py',
            'darts_custom_search.py', 'darts_custom_retrain.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdarts'
    init_default_scope('mmdarts')
    complete_model_config(cfg)  # as the tools do: head channels derived from the backbone
    model_cfg = cfg.model.to_dict()
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg).eval()
    search = cfg.model.type == 'Darts'
    classifier = cfg.model.architecture if search else cfg.model
    backbone = classifier.backbone
    size = 224 if backbone.get('stem') == 'imagenet' else 32
    x = torch.randn(2, backbone.get('in_channels', 3), size, size)
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, classifier.head.num_classes)
    assert classifier.head.num_classes == cfg.data_preprocessor.num_classes
    if search:
        assert isinstance(cfg.randomness.seed, int)  # the same search gives the same genotype
        assert cfg.optim_wrapper.constructor == 'DartsOptimWrapperConstructor'
        assert cfg.train_cfg.type == 'DartsSearchLoop' and 'arch_dataloader' in cfg
        assert any(h['type'] == 'GenotypeExportHook' for h in cfg.custom_hooks)
    DefaultScope._instance_dict.clear()


def test_retrain_settings_of_the_paper():
    cifar = Config.fromfile(osp.join(REPO, 'configs/darts_cifar10_retrain.py'))
    backbone = cifar.model.backbone
    assert (backbone.base_channels, backbone.num_layers, backbone.drop_path_prob) == (36, 20, 0.2)
    # DartsNet's default genotype, the paper's; left out of the config so that an inheriting one sets any form
    assert 'genotype' not in backbone and inspect.signature(DartsNet).parameters['genotype'].default == 'DARTS_V2'
    assert cifar.model.head.aux_weight == 0.4 and cifar.train_cfg.max_epochs == 600
    assert cifar.train_dataloader.batch_size == 96 and cifar.optim_wrapper.optimizer.lr == 0.025
    assert any(t['type'] == 'Cutout' and t['shape'] == 16 for t in cifar.train_dataloader.dataset.pipeline)
    assert any(h['type'] == 'DropPathScheduleHook' for h in cifar.custom_hooks)
    imagenet = Config.fromfile(osp.join(REPO, 'configs/darts_imagenet_retrain.py'))
    assert (imagenet.model.backbone.num_layers, imagenet.model.backbone.base_channels) == (14, 48)
    assert imagenet.train_cfg.max_epochs == 250 and imagenet.model.head.loss.label_smooth_val == 0.1
    for name in ('search', 'retrain'):  # the CIFAR-100 configs change only the dataset part
        c100 = Config.fromfile(osp.join(REPO, f'configs/darts_cifar100_{name}.py'))
        c10 = Config.fromfile(osp.join(REPO, f'configs/darts_cifar10{"" if name == "search" else "_retrain"}.py'))
        assert c100.optim_wrapper == c10.optim_wrapper and c100.train_cfg == c10.train_cfg


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
    halves = (cfg.train_dataloader.dataset, cfg.arch_dataloader.dataset, cfg.val_dataloader.dataset)
    assert [(d.start, d.end, d.mode, d.seed) for d in halves] == [(0.0, 0.5, 'stratified', 0),
                                                                  (0.5, 1.0, 'stratified', 0),
                                                                  (0.5, 1.0, 'stratified', 0)]
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


def test_model_index_lists_every_config():
    """mim and mmengine's `mmdarts::` lookup read model-index.yml (shipped in mmdarts/.mim)."""
    from mmengine.fileio import load
    index = load(osp.join(REPO, 'model-index.yml'))
    listed = {m['Config'] for path in index['Import'] for m in load(osp.join(REPO, path))['Models']}
    assert listed == {osp.relpath(p, REPO) for p in CONFIGS}
