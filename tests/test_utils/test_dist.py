import pytest
import torch
from mmengine.config import Config

from mmdarts.utils import all_reduce_mean_, configure_cpu_distributed


def test_standard_wrapper_gets_no_device_ids_on_cpu():
    cfg = Config(dict())
    configure_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', broadcast_buffers=False, device_ids=None)
    cfg = Config(dict(model_wrapper_cfg=dict(type='mmdarts.DartsDistributedWrapper')))
    configure_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg == dict(type='mmdarts.DartsDistributedWrapper')


def test_sync_bn_is_refused_without_cuda_with_the_reason():
    with pytest.raises(ValueError, match="sync_bn='torch': torch's SyncBatchNorm runs on GPUs only"):
        configure_cpu_distributed(Config(dict(sync_bn='torch')))


def test_averaging_outside_a_distributed_run_changes_nothing():
    tensors = [torch.zeros(100), None, torch.zeros(10, dtype=torch.float64)]
    all_reduce_mean_(tensors)  # not distributed: a no-op
    assert all(t.eq(0).all() for t in tensors if t is not None)
