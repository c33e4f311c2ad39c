"""The gradient passes of a search step replayed as CUDA graphs: one launch per pass instead of thousands.

A search step is bound by operator launches on a GPU (``docs/benchmarks.md``): tens of thousands of small kernels,
each costing more to launch than to run. A CUDA graph records a pass once and replays all its kernels with one
call. The computation is the same kernels on the same memory, so the numbers are those of the eager pass.

What a graph needs, and how the passes give it:
- fixed memory for everything that changes between steps: each batch's images and labels are copied into tensors
  allocated at capture (the data samples the loss reads hold views of them, :func:`relabeled`), the weight
  learning rate ξ (the scheduler moves it) is a 0-dim tensor filled before each replay; weights, α, BN
  statistics and momentum buffers are updated in place by the optimizers, so the graph reads their current values;
- outputs in fixed memory, valid until the next replay of any pass (the graphs share one memory pool, and a pass
  captured later may keep its outputs where an earlier one keeps its temporaries): gradients are applied and
  pass losses checked before the next pass replays, and what is kept longer (the α step's log) is copied;
- a new capture when anything a pass bakes in changes: shapes, the set of tensors it reads (a resumed optimizer
  brings new momentum buffers), Python scalars such as GDAS's temperature (:meth:`PassCapturer.run`'s signature);
- a few eager runs before the capture (on a side stream, as torch's documentation asks), which are the step's real
  passes, so no state moves twice.
"""
import logging
from typing import Callable, Dict, Hashable, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

Batch = Dict[str, object]
LABEL_FIELDS = ('gt_label', 'gt_score')


def batch_labels(batch: Batch) -> Optional[Tuple[str, torch.Tensor]]:
    """The labels the loss reads from a preprocessed batch, as one tensor, and their field: score vectors
    (``gt_score``, stacked; the head reads these when present) or else single class indices (``gt_label`` of one
    element each, concatenated). None for anything else (multi-label indices, no labels, data samples with other
    tensors): such batches run eagerly."""
    samples = batch.get('data_samples')
    if not samples:
        return None
    first = samples[0]
    field = 'gt_score' if 'gt_score' in first else 'gt_label' if 'gt_label' in first else None
    if field is None or any(isinstance(v, torch.Tensor) for k, v in first.items() if k not in LABEL_FIELDS):
        return None
    values = [getattr(s, field, None) for s in samples]
    if not all(isinstance(v, torch.Tensor) for v in values):
        return None
    if field == 'gt_label':
        return (field, torch.cat([v.reshape(1) for v in values])) if all(v.numel() == 1 for v in values) else None
    return (field, torch.stack(values)) if all(v.shape == values[0].shape for v in values) else None


def relabeled(batch: Batch, inputs: torch.Tensor, labels: torch.Tensor) -> Batch:
    """``batch`` with ``inputs`` for its images and data samples whose labels are views into ``labels`` (as
    :func:`batch_labels` made them): the loss then reads the labels that were last copied there."""
    field = 'gt_score' if 'gt_score' in batch['data_samples'][0] else 'gt_label'
    samples = [type(s)(metainfo=s.metainfo, **{field: labels[i:i + 1] if field == 'gt_label' else labels[i]})
               for i, s in enumerate(batch['data_samples'])]
    return dict(inputs=inputs, data_samples=samples)


def batch_signature(batch: Batch) -> Optional[Tuple[tuple, List[torch.Tensor]]]:
    """What a captured pass bakes in about a batch (shape, dtype, layout, device, label field and shape) and the
    tensors it takes from it (the images, the labels of :func:`batch_labels`), or None if the batch cannot be
    captured."""
    labels = batch_labels(batch)
    inputs = batch.get('inputs')
    if labels is None or not isinstance(inputs, torch.Tensor) or labels[1].device != inputs.device:
        return None
    signature = (tuple(inputs.shape), inputs.stride(), inputs.dtype, str(inputs.device), labels[0],
                 tuple(labels[1].shape), labels[1].dtype)
    return signature, [inputs, labels[1]]


def tensor_addresses(tensors: Sequence[Optional[torch.Tensor]]) -> tuple:
    """The memory a pass reads, as addresses (None for a missing tensor): a tensor replaced, not updated in place,
    invalidates a graph."""
    return tuple(None if t is None else (t.data_ptr(), t.shape, t.dtype) for t in tensors)


class CudaGraphPass:
    """``fn(*inputs)`` captured into one CUDA graph: ``pass_(inputs)`` copies ``inputs`` into the captured inputs,
    replays, and returns the captured outputs (the same tensors at every call, overwritten by the next)."""

    def __init__(self, fn: Callable, inputs: Sequence[torch.Tensor], pool=None):
        self.inputs = [t.clone() for t in inputs]
        self.graph = torch.cuda.CUDAGraph()
        # thread_local: a data loader's pin-memory thread may call CUDA meanwhile
        with torch.cuda.graph(self.graph, pool=pool, capture_error_mode='thread_local'):
            self.outputs = fn(*self.inputs)

    def __call__(self, inputs: Sequence[torch.Tensor]):
        torch._foreach_copy_(self.inputs, list(inputs))
        self.graph.replay()
        return self.outputs


class PassCapturer:
    """Runs named passes eagerly ``warmup`` times, then captures each into a graph (``backend``, default
    :class:`CudaGraphPass`) and replays it while its signature holds. A new signature is warmed up and captured
    in turn; the last ``keep`` signatures of each pass keep their graphs, so an epoch's last, smaller batch does
    not cost the full-size graph. All graphs share one memory pool (passes run one after another).

    Args:
        warmup (int): eager runs of a pass (with one signature) before it is captured. Defaults to 2.
        backend (type, optional): the capture: ``CudaGraphPass``, or for tests on CPU
            :class:`~mmdarts.testing.OpReplayPass`. Defaults to CudaGraphPass.
        on_error (str): a capture that fails (an operation a graph cannot hold, e.g. a host synchronisation in a
            custom op) ``'raise'`` s, or is logged once and that pass runs eagerly from then on (``'eager'``).
        keep (int): signatures kept per pass, the most recently used. Defaults to 2.
    """

    def __init__(self, warmup: int = 2, backend: Optional[type] = None, on_error: str = 'eager', keep: int = 2):
        if on_error not in ('eager', 'raise'):
            raise ValueError(f"PassCapturer: on_error must be 'eager' or 'raise', got {on_error!r}")
        if warmup < 0 or keep < 1:
            raise ValueError(f'PassCapturer: needs warmup >= 0 and keep >= 1, got warmup={warmup}, keep={keep}')
        self.warmup = warmup
        self.backend = backend or CudaGraphPass
        self.on_error = on_error
        self.keep = keep
        self._passes: Dict[str, Dict[Hashable, dict]] = {}  # name -> signature -> entry, least recent first
        self._failed = set()
        self._pool = None
        self._stream = None
        self.captures = 0  # how many captures were made (for tests and logs)

    def run(self, name: str, signature: Hashable, fn: Callable, inputs: Sequence[torch.Tensor]):
        """``fn(*inputs)``, eagerly or by replaying its graph. ``fn`` must read, besides ``inputs``, only
        memory that stays in place while ``signature`` holds, and return tensors (nested in lists, tuples, dicts)."""
        if name in self._failed:
            return fn(*inputs)
        entries = self._passes.setdefault(name, {})
        entry = entries.pop(signature, None) or dict(runs=0, graph=None)
        entries[signature] = entry  # the most recent last
        while len(entries) > self.keep:
            entries.pop(next(iter(entries)))
        if entry['graph'] is None and entry['runs'] < self.warmup:
            entry['runs'] += 1
            return self._side_stream(fn, inputs)
        if entry['graph'] is None:
            try:
                if self._pool is None and self.backend is CudaGraphPass:  # one memory pool for all graphs
                    self._pool = torch.cuda.graph_pool_handle()
                entry['graph'] = self.backend(fn, inputs, self._pool)
            except Exception as error:  # noqa: BLE001 -- any capture failure falls back as configured
                if self.on_error == 'raise':
                    raise RuntimeError(f'Darts: capturing the {name} pass as a CUDA graph failed ({error}); '
                                       'Darts(cuda_graphs=False) runs it eagerly') from error
                self._failed.add(name)
                print_log(f'Darts: the {name} pass cannot be captured as a CUDA graph ({error}); it runs eagerly '
                          '(Darts(cuda_graphs=False) turns graphs off)', logger='current', level=logging.WARNING)
                return fn(*inputs)
            self.captures += 1
            print_log(f'Darts: the {name} pass is captured as a CUDA graph and replayed from now on',
                      logger='current', level=logging.INFO)
        return entry['graph'](inputs)

    def all_captured(self) -> bool:
        """Whether the pass of every name, as last run, is replayed from a graph (none warming up, none failed)."""
        return bool(self._passes) and not self._failed and all(
            list(entries.values())[-1]['graph'] is not None for entries in self._passes.values())

    def _side_stream(self, fn: Callable, inputs: Sequence[torch.Tensor]):
        if self.backend is not CudaGraphPass:
            return fn(*inputs)
        stream = self._stream = self._stream or torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            out = fn(*inputs)
        torch.cuda.current_stream().wait_stream(stream)
        return out
