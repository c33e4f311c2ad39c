"""A per-edge BN whose running statistics live in a bank of its cell (:mod:`mmdarts.models.search.edge_banks`)."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn


class BankedBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose ``running_mean``, ``running_var`` and ``num_batches_tracked`` are views of rows of
    its cell's banks, where the batched cell reads and updates them as one tensor; the BN's own forward updates
    the same memory. Not buffers of its own: the cell's state dict holds the banks, and a BN loads nothing itself
    (its cell converts per-edge entries, :func:`~mmdarts.models.search.edge_banks.convert_edge_state`).

    Built from the BN it replaces (its settings, mode and affine parameters) and ``bank_rows``: per statistic
    (``'running_mean'``, ``'running_var'``, ``'num_batches_tracked'``), ``(banks, bank name, first row, rows)``,
    rows None for the count's single entry."""

    def __init__(self, bn: nn.BatchNorm2d, bank_rows: Dict[str, Tuple[nn.Module, str, int, Optional[int]]]):
        nn.Module.__init__(self)  # not BatchNorm's: the statistics are the banks' rows, not buffers
        self.num_features, self.eps, self.momentum = bn.num_features, bn.eps, bn.momentum
        self.affine, self.track_running_stats = bn.affine, bn.track_running_stats
        self.register_parameter('weight', bn.weight)
        self.register_parameter('bias', bn.bias)
        self.train(bn.training)
        self._bank_rows, self._bank_cache = dict(bank_rows), {}

    def _bank_view(self, attr: str) -> torch.Tensor:
        banks, name, row, rows = self._bank_rows[attr]
        bank = getattr(banks, name)
        key = (id(bank), bank.data_ptr())  # a moved or replaced bank gives new views
        cached = self._bank_cache.get(attr)
        if cached is not None and cached[0] == key:
            return cached[1]
        view = bank[row] if rows is None else bank.narrow(0, row, rows)
        self._bank_cache[attr] = (key, view)
        return view

    running_mean = property(lambda self: self._bank_view('running_mean'))
    running_var = property(lambda self: self._bank_view('running_var'))
    num_batches_tracked = property(lambda self: self._bank_view('num_batches_tracked'))

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        # nn.BatchNorm2d's adds a num_batches_tracked entry for old state dicts; this BN has no tensors to load
        nn.Module._load_from_state_dict(self, *args, **kwargs)


PLAIN_BATCH_NORMS = (nn.BatchNorm2d, BankedBatchNorm2d)
