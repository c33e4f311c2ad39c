import os.path as osp

import pytest
from helpers import REPO
from mmengine.config import Config

from mmdarts.apis import check_config, complete_model_config, merge_options
from mmdarts.structures import PUBLISHED_GENOTYPES, Genotype


def search_cfg(**overrides):
    optim = dict(architecture=dict(optimizer=dict(type='SGD')), mutator=dict(optimizer=dict(type='Adam')))
    cfg = dict(model=dict(type='Darts'), optim_wrapper=optim,
               arch_dataloader=dict(dataset=dict(type='Digits')))
    cfg.update(overrides)
    return Config(cfg)


def test_missing_data_root_is_named(tmp_path):
    cfg = search_cfg(train_dataloader=dict(dataset=dict(type='SubsetDataset', dataset=dict(
        type='CustomDataset', data_root=str(tmp_path / 'nope')))))
    with pytest.raises(FileNotFoundError, match=r"train_dataloader.dataset.dataset.data_root='.*nope' does not"):
        check_config(cfg)


def test_downloading_datasets_may_lack_their_root(tmp_path):
    check_config(search_cfg(train_dataloader=dict(dataset=dict(type='CIFAR10', data_root=str(tmp_path / 'x')))))
    with pytest.raises(FileNotFoundError):
        check_config(search_cfg(train_dataloader=dict(dataset=dict(type='CIFAR10', download=False,
                                                                   data_root=str(tmp_path / 'x')))))


@pytest.mark.parametrize('key', ['architecture', 'mutator'])
def test_search_needs_both_optimizers(key):
    cfg = search_cfg()
    cfg.optim_wrapper.pop(key)
    with pytest.raises(ValueError, match=f"optim_wrapper: missing key\\(s\\) \\['{key}'\\]"):
        check_config(cfg)


def test_search_needs_an_arch_loader():
    cfg = search_cfg()
    cfg.pop('arch_dataloader')
    with pytest.raises(ValueError, match='arch_dataloader'):
        check_config(cfg)


def test_the_test_loader_follows_val_overrides_where_the_config_defines_it_so():
    """`test_dataloader = val_dataloader` in a config is a copy once read; --cfg-options on val must reach it."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_custom_retrain.py'))
    merge_options(cfg, {'val_dataloader.dataset.data_root': 'data/mine/val'})
    assert cfg.test_dataloader.dataset.data_root == 'data/mine/val'
    merge_options(cfg, {'val_dataloader.batch_size': 7, 'test_dataloader.batch_size': 3})  # set apart: kept
    assert (cfg.val_dataloader.batch_size, cfg.test_dataloader.batch_size) == (7, 3)
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_cifar10_retrain.py'))
    cfg.test_dataloader = dict(cfg.test_dataloader, batch_size=5)  # a test loader of its own: untouched
    merge_options(cfg, {'val_dataloader.dataset.data_root': 'elsewhere'})
    assert cfg.test_dataloader.dataset.data_root == 'data/cifar10'


def test_tools_check_only_the_loaders_they_use(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_custom_retrain.py'))
    with pytest.raises(FileNotFoundError, match=r"^test_dataloader.dataset.data_root='data/custom/val' does not"):
        check_config(cfg, loaders=('test_dataloader', ))


def test_a_genotype_file_is_read_into_the_config(tmp_path):
    path = tmp_path / 'genotype.json'
    Genotype.from_dict(PUBLISHED_GENOTYPES['DARTS_V1']).to_file(str(path))
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_cifar10_retrain.py'))
    cfg.model.backbone.genotype = str(path)
    complete_model_config(cfg)
    genotype = cfg.model.backbone.genotype
    assert genotype['meta']['file'] == str(path)
    assert Genotype.from_dict(genotype) == Genotype.from_dict(PUBLISHED_GENOTYPES['DARTS_V1'])
    path.unlink()  # the search's work dir moved: the config (and each checkpoint's copy of it) still builds
    assert cfg.model.head.in_channels == 576 and cfg.model.head.aux_in_channels == 576
    Config.fromstring(cfg.pretty_text, '.py')  # the dumped form reads back


@pytest.mark.parametrize('field,value,message', [
    ('architecture.optimizer.type', 'SGDD', r"optim_wrapper.architecture.optimizer.type='SGDD' is not a registered "
                                            r"optimizer \(did you mean 'SGD'\?\); expected .*'AdamW'"),
    ('mutator.optimizer.lr', 'abc', r"optim_wrapper.mutator.optimizer.lr='abc': expected a number \(Adam's lr, "
                                    r'default 0.001\)'),
    ('mutator.optimizer.betas', 0.5, r'optim_wrapper.mutator.optimizer.betas=0.5: expected 2 numbers'),
    ('architecture.optimizer.nesterov', 'yes', r"nesterov='yes': expected True or False"),
    ('architecture.optimizer.momentm', 0.9, r"optim_wrapper.architecture.optimizer.momentm: SGD takes no argument "
                                            r"'momentm'; it takes \['lr', 'momentum'"),
])
def test_optimizer_mistakes_name_the_field(field, value, message):
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_digits_demo.py'))
    cfg.merge_from_dict({f'optim_wrapper.{field}': value})
    with pytest.raises(ValueError, match=message):
        check_config(cfg, loaders=())


def test_a_plain_optim_wrappers_optimizer_is_checked_too():
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_cifar10_retrain.py'))
    cfg.merge_from_dict({'optim_wrapper.optimizer.lr': 'abc'})
    with pytest.raises(ValueError, match=r"^optim_wrapper.optimizer.lr='abc': expected a number \(SGD's lr"):
        check_config(cfg, loaders=())


def test_the_shipped_optimizers_pass():
    for name in ('darts_cifar10.py', 'darts_cifar10_retrain.py', 'variants/pc_darts_cifar10.py'):
        check_config(Config.fromfile(osp.join(REPO, 'configs', name)), loaders=())
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_digits_demo.py'))
    cfg.optim_wrapper.architecture.optimizer['_scope_'] = 'mmdarts'  # as mmengine marks a config inherited by package
    check_config(cfg, loaders=())
