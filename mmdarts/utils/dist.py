"""Distributed helpers: gradient averaging in buckets and a CPU (gloo) start for ``--launcher pytorch``."""
import os
from typing import List, Sequence

import torch
import torch.distributed as torch_dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


def _buckets(tensors: Sequence[torch.Tensor], bucket_bytes: int) -> List[List[torch.Tensor]]:
    buckets: List[List[torch.Tensor]] = []
    size = 0
    for t in tensors:
        fits = buckets and size + t.numel() * t.element_size() <= bucket_bytes
        same = buckets and buckets[-1][0].dtype == t.dtype and buckets[-1][0].device == t.device
        if not (fits and same):
            buckets.append([])
            size = 0
        buckets[-1].append(t)
        size += t.numel() * t.element_size()
    return buckets


def all_reduce_mean_(tensors: Sequence[torch.Tensor], bucket_mb: float = 25.) -> None:
    """Replaces each tensor in place by its mean over the ranks, in flattened buckets of ``bucket_mb`` MiB.

    A no-op outside a distributed run or with one rank.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    world_size = torch_dist.get_world_size()
    if world_size == 1:
        return
    for bucket in _buckets([t for t in tensors if t is not None], int(bucket_mb * 2**20)):
        flat = _flatten_dense_tensors(bucket)
        torch_dist.all_reduce(flat)
        flat.div_(world_size)
        for t, synced in zip(bucket, _unflatten_dense_tensors(flat, bucket)):
            t.copy_(synced)


def init_cpu_distributed(launcher: str) -> bool:
    """Starts gloo for the ``pytorch`` launcher on a machine without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which a CPU torch lacks. A process group that exists
    before ``Runner.from_cfg`` makes mmengine skip its own start. Returns whether this started one.
    """
    if launcher != 'pytorch' or torch.cuda.is_available():
        return False
    if torch_dist.is_initialized():
        return False
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher pytorch needs the environment variables {missing}: '
                           'start the script with torchrun (tools/dist_train.sh does).')
    torch_dist.init_process_group('gloo')
    return True


def configure_cpu_distributed(cfg) -> None:
    """Adapts a config to processes without CUDA (after :func:`init_cpu_distributed`).

    mmengine's default wrapper, ``MMDistributedDataParallel``, gets ``device_ids=[LOCAL_RANK]``, which DDP refuses
    for CPU modules: wrappers of the DDP family get ``device_ids=None`` unless the config sets them. torch's
    SyncBatchNorm runs on GPUs only, so ``sync_bn`` is refused here with the reason.
    """
    if cfg.get('sync_bn'):
        raise ValueError(f"sync_bn={cfg.sync_bn!r}: torch's SyncBatchNorm runs on GPUs only; this run has no CUDA "
                         '(remove sync_bn for CPU runs)')
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel', broadcast_buffers=False)
    if 'DistributedDataParallel' in str(wrapper.get('type', 'MMDistributedDataParallel')):
        wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def shutdown_distributed() -> None:
    """Ends a distributed run that went well: waits for every rank, then destroys the default process group.

    mmengine leaves the group alive; a gloo group alive at interpreter exit, or destroyed while another rank is
    still in a collective, can abort a finished process (``terminate called without an active exception``,
    SIGABRT). Callers should drop their Runner (and so DDP's reducer, which holds the group) first.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
