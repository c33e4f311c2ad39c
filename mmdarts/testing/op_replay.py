"""A CUDA graph's contract on any device, for testing captured passes on a CPU.

A CUDA graph records the kernels of a pass once, with their arguments as they were, and replays them on the same
memory. :class:`OpReplayPass` does the same with ATen calls: the capture records every call of the pass (through
a ``TorchDispatchMode``, autograd's backward included) with its arguments; a replay makes the same calls, with the
same Python scalars, on the same tensors, and copies each result into the tensor the capture produced (the graph's
fixed memory). So what would go wrong in a graph goes wrong here: a pass that reads a tensor it closed over (not a
captured input) replays the old one, a Python float read at capture (a learning rate) stays baked in, and a host
synchronisation (``.item()``, ``bool(tensor)``) fails the capture.
"""
from typing import Callable, List, Sequence, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

HOST_SYNCS = ('_local_scalar_dense', 'item', 'equal', 'is_nonzero')
# arguments written in place that the schema does not mark: a training batch norm's running statistics
UNMARKED_WRITES = {'native_batch_norm': (3, 4), 'cudnn_batch_norm': (3, 4), 'miopen_batch_norm': (3, 4)}


class _Recorder(TorchDispatchMode):
    """Runs and records each ATen call; saves what in-place calls overwrite, so the capture can be undone."""

    def __init__(self):
        super().__init__()
        self.calls: List[Tuple] = []
        self.overwritten: List[Tuple[torch.Tensor, torch.Tensor]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket.__name__ in HOST_SYNCS:
            raise RuntimeError(f'a host synchronisation ({func}) inside a captured pass: a CUDA graph cannot hold it')
        unmarked = UNMARKED_WRITES.get(func.overloadpacket.__name__, ())
        for index, (argument, value) in enumerate(zip(func._schema.arguments, args)):
            if index in unmarked or (argument.alias_info is not None and argument.alias_info.is_write):
                for t in tree_flatten(value)[0]:
                    if isinstance(t, torch.Tensor):
                        self.overwritten.append((t, t.detach().clone()))
        out = func(*args, **kwargs)
        self.calls.append((func, args, kwargs, out))
        return out


class OpReplayPass:
    """``fn(*inputs)`` captured as a list of ATen calls and replayed (see the module's docstring); the interface
    of :class:`~mmdarts.models.algorithms.captured_passes.CudaGraphPass`. As a graph's capture, this one leaves no
    trace: what its calls wrote in place (BN statistics, counters) is restored afterwards."""

    def __init__(self, fn: Callable, inputs: Sequence[torch.Tensor], pool=None):
        self.inputs = [t.clone() for t in inputs]
        recorder = _Recorder()
        with recorder:
            self.outputs = fn(*self.inputs)
        with torch.no_grad():
            for tensor, before in reversed(recorder.overwritten):
                tensor.copy_(before)
        self.calls = recorder.calls

    def __call__(self, inputs: Sequence[torch.Tensor]):
        torch._foreach_copy_(self.inputs, list(inputs))
        with torch.no_grad():
            for func, args, kwargs, out in self.calls:
                fresh = func(*args, **kwargs)
                for old, new in zip(tree_flatten(out)[0], tree_flatten(fresh)[0]):
                    if isinstance(old, torch.Tensor) and old.data_ptr() != new.data_ptr():
                        old.copy_(new)
        return self.outputs
