"""Distributed helpers: gradient averaging and a CPU (gloo) start for ``--launcher pytorch``."""
import os
from typing import Optional, Sequence

import torch
import torch.distributed as torch_dist
from mmengine.dist import all_reduce_params


def all_reduce_mean_(tensors: Sequence[Optional[torch.Tensor]], bucket_mb: int = 25) -> None:
    """Replaces each tensor (None skipped) in place by its mean over the ranks, in flattened buckets of
    ``bucket_mb`` MiB of one dtype each (mmengine's ``all_reduce_params``). A no-op outside a distributed run."""
    all_reduce_params([t for t in tensors if t is not None], bucket_size_mb=bucket_mb, op='mean')


def init_cpu_distributed(launcher: str) -> bool:
    """Starts gloo for the ``pytorch`` launcher on a machine without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which a CPU torch lacks. A process group that exists
    before ``Runner.from_cfg`` makes mmengine skip its own start. Returns whether this started one.
    """
    if launcher != 'pytorch' or torch.cuda.is_available() or torch_dist.is_initialized():
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
