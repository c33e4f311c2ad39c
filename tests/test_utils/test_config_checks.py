import pytest
from mmengine.config import Config

from mmdarts.utils.config_checks import check_config


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
