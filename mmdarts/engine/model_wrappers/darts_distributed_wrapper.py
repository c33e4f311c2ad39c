from typing import Any, Dict

import torch
import torch.distributed as torch_dist
import torch.nn as nn

from mmdarts.registry import MODEL_WRAPPERS
from mmdarts.utils import all_reduce_mean_


@MODEL_WRAPPERS.register_module()
class DartsDistributedWrapper(nn.Module):
    """Runs a DARTS search over several processes (``--launcher pytorch|slurm|mpi``), CPU (gloo) or GPU (nccl).

    DDP's hooks see only ``backward()``, not the ``torch.autograd.grad`` calls of the α step, so this wrapper does
    no hook work: it starts every rank from rank 0's weights, α and buffers, and ``Darts.train_step`` averages the α
    gradient and the weight gradient over the ranks (in buckets) before each optimizer step. After each step the
    floating-point buffers (BatchNorm running statistics) are averaged too, so every rank holds the same model.

    Args:
        module (nn.Module): the ``Darts`` model.
    """

    def __init__(self, module: nn.Module, **kwargs):
        super().__init__()
        unknown = set(kwargs) - {'device_ids', 'broadcast_buffers', 'find_unused_parameters'}
        if unknown:
            raise TypeError(f'DartsDistributedWrapper: unexpected arguments {sorted(unknown)}')
        self.module = module
        if torch_dist.is_available() and torch_dist.is_initialized():
            with torch.no_grad():
                for tensor in list(module.parameters()) + list(module.buffers()):
                    torch_dist.broadcast(tensor.data, 0)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def train_step(self, data: Dict[str, Any], optim_wrapper) -> Dict[str, torch.Tensor]:
        log_vars = self.module.train_step(data, optim_wrapper)
        with torch.no_grad():
            all_reduce_mean_([b for b in self.module.buffers() if b.is_floating_point()])
        return log_vars

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)
