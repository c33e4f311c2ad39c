"""ATen operator calls of a computation: the CPU-measurable proxy of a GPU step's kernel launches.

On a GPU the search step is bound by launches, not arithmetic: measured on an H200, step time / ATen calls was
20-23 µs for mmdarts and pt.darts alike. Counting the calls on the CPU (eager, no compile, no graph capture)
therefore measures the structure of a computation where no GPU is at hand (``tools/benchmark.py --count-ops``).
"""
from collections import Counter
from typing import Callable, Tuple

from torch.utils._python_dispatch import TorchDispatchMode


def is_view_op(func) -> bool:
    """Whether an ATen op only makes views of its inputs (``view``, ``split``, ``select``, ``detach``, ...): every
    output aliases an input without writing it, so no kernel runs on a GPU. Read from the op's schema."""
    returns = func._schema.returns
    return bool(returns) and all(r.alias_info is not None and not r.alias_info.is_write for r in returns)


class AtenCallCounter(TorchDispatchMode):
    """Counts every ATen operator call dispatched while active (autograd's backward included), by operator name;
    :attr:`views` counts those that only make views (:func:`is_view_op`: no kernel on a GPU)."""

    def __init__(self):
        super().__init__()
        self.calls: Counter = Counter()
        self.views = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[func.overloadpacket.__name__] += 1
        self.views += is_view_op(func)
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def count_aten_calls(fn: Callable[[], object]) -> Tuple[int, Counter]:
    """``fn()`` run once under :class:`AtenCallCounter`: the total number of ATen calls and the count per op."""
    with AtenCallCounter() as counter:
        fn()
    return counter.total, counter.calls
