"""The mixed ops' conv weights and BN statistics stored batched: one tensor per group of a wave.

A batched wave (:mod:`.batched_cell`) runs each group of convs (a candidate's depthwise convs over every edge, the
pointwise convs of every (candidate, edge) pair, ...) as one conv whose weight is the group's weights concatenated,
and each group of BNs as one BN. Stored per edge, those weights are concatenated at every forward and their
gradients split back, one weight tensor to accumulate per edge; stored as one tensor per group (a *bank*, a
parameter or buffer of ``cell.banks``), the conv reads the bank, a step has 1/4 as many weight tensors, and the BNs
update their statistics in place. :func:`bank_edges` moves a cell's tensors into banks; the per-edge modules keep
their structure: their BNs are replaced by :class:`~mmdarts.models.ops.BankedBatchNorm2d` (statistics read from
the banks), their convs' banked weights registered as None, and where a forward runs the per-edge modules (the
reference sum, a cell that cannot batch) it calls them through ``torch.func.functional_call`` with views of the
weight banks (:func:`bank_views`). :func:`convert_edge_state` loads either layout's state dict into the other.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..ops import BankedBatchNorm2d
from .batched_cell import BatchedCell
from .batched_convs import crop_kernel, pad_kernel

# (bank name, kind: 'weight' | 'stat' | 'count', [(module, attribute, first row, rows)])
BankLayout = List[Tuple[str, str, List[Tuple[nn.Module, str, int, int]]]]
# per edge, its banked weights: (name in its MixedOp, bank name, first row, rows, kernel size of a conv or None)
EdgeRows = List[List[Tuple[str, str, int, int, Optional[Tuple[int, int]]]]]

_PARTS = (('mean', 'running_mean', 'stat'), ('var', 'running_var', 'stat'), ('count', 'num_batches_tracked', 'count'))


def _joined(kind: str, tensors: List[torch.Tensor]) -> torch.Tensor:
    """The bank of ``tensors``: counts stacked, the rest concatenated (conv kernels padded to the largest, as a
    merged depthwise group computes them, :func:`~.batched_convs.pad_kernel`)."""
    if kind == 'count':
        return torch.stack(tensors)
    if tensors[0].dim() == 4:
        size = [max(t.shape[i] for t in tensors) for i in (-2, -1)]
        tensors = [pad_kernel(t, size) for t in tensors]
    return torch.cat(tensors)


def _kernel(module: nn.Module) -> Optional[Tuple[int, int]]:
    return module.kernel_size if isinstance(module, nn.Conv2d) else None


def _own_rows(bank: torch.Tensor, kernel: Optional[Sequence[int]], row: int, rows: int) -> torch.Tensor:
    """A module's rows of ``bank`` (a view), a conv's kernel (of size ``kernel``) cut out of the padded one."""
    piece = bank.narrow(0, row, rows)
    return crop_kernel(piece, kernel) if kernel is not None and piece.dim() == 4 else piece


def bank_members(plan: BatchedCell) -> List[Tuple[str, str, List[Tuple[nn.Module, str]]]]:
    """(bank name, kind, [(module, attribute)]) of every bank of a cell, in order: each wave's conv weight groups,
    then the running mean, variance and count of each of its BN groups (where the BNs track statistics)."""
    banks = []
    for wave in plan.waves:
        for group, modules in wave.weight_groups.items():
            attr = wave.group_attrs.get(group, 'weight')
            banks.append((wave.prefix + group, 'weight', [(m, attr) for m in modules]))
        for group, bns in wave.norm_groups.items():
            if all(bn.running_mean is not None and bn.num_batches_tracked is not None for bn in bns):
                banks += [(f'{wave.prefix}{group}_{part}', kind, [(bn, attr) for bn in bns])
                          for part, attr, kind in _PARTS]
    return banks


def bank_edges(cell: nn.Module, plan: BatchedCell) -> Tuple[BankLayout, EdgeRows, BatchedCell]:
    """Moves ``cell``'s grouped conv weights and BN statistics (``plan``'s groups) into ``cell.banks``, values
    kept; the per-edge convs lose their weights (:func:`bank_views` gives them views), the BNs are replaced by
    :class:`~mmdarts.models.ops.BankedBatchNorm2d` reading rows of the banks. Returns the layout, each edge's rows
    of the weight banks, and the plan that computes with the banks (made over the banked BNs, before the convs
    lost their weights: a plan is made from modules that still hold them)."""
    banks, layout = nn.Module(), []
    bank_rows: Dict[int, Dict[str, tuple]] = {}  # per BN (by id): its rows of each statistic's bank
    for name, kind, members in bank_members(plan):
        tensors = [getattr(m, attr) for m, attr in members]
        with torch.no_grad():
            value = _joined(kind, tensors)
        if kind == 'weight':
            banks.register_parameter(name, nn.Parameter(value, requires_grad=tensors[0].requires_grad))
        else:
            banks.register_buffer(name, value)
        placed, row = [], 0
        for (m, attr), t in zip(members, tensors):
            rows = 1 if kind == 'count' else t.shape[0]
            if kind != 'weight':
                bank_rows.setdefault(id(m), {})[attr] = (banks, name, row, None if kind == 'count' else rows)
            placed.append((m, attr, row, rows))
            row += rows
        layout.append((name, kind, placed))
    banked = {}  # each BN replaced in its parent by one reading its rows of the banks
    for parent in list(cell.modules()):
        for child_name, child in list(parent.named_children()):
            if id(child) in bank_rows:
                banked[id(child)] = BankedBatchNorm2d(child, bank_rows[id(child)])
                setattr(parent, child_name, banked[id(child)])
    banked_plan = BatchedCell(cell.mixed_ops, plan.num_nodes, plan.channels)
    paths = {id(m): (k, path) for k, op in enumerate(cell.mixed_ops) for path, m in op.named_modules()}
    edge_rows: EdgeRows = [[] for _ in cell.mixed_ops]
    for name, kind, placed in layout:
        for m, attr, row, rows in placed if kind == 'weight' else ():  # no parameter of its own: a view is given
            k, path = paths[id(m)]
            edge_rows[k].append((f'{path}.{attr}', name, row, rows, _kernel(m)))
            m.register_parameter(attr, None)
    cell.banks = banks
    for wave in banked_plan.waves:  # reading their weights and BN statistics from the banks
        wave.banks = banks
    return [(name, kind, [(banked.get(id(m), m), attr, row, rows) for m, attr, row, rows in placed])
            for name, kind, placed in layout], edge_rows, banked_plan


def bank_views(banks: nn.Module, rows: Sequence[tuple]) -> Dict[str, torch.Tensor]:
    """One edge's banked weights (its ``rows``, :func:`bank_edges`) as views of ``banks``, the tensors of this
    moment (``functional_call``'s too), by their names in its :class:`~.search_cell.MixedOp`."""
    return {name: _own_rows(getattr(banks, bank), kernel, row, count) for name, bank, row, count, kernel in rows}


def _join_separate_kernel_banks(state_dict: Dict[str, torch.Tensor], bank_key: str) -> None:
    """A merged depthwise bank (``...dw2_4_5``) from the separate banks of its candidates (``...dw2_4``,
    ``...dw2_5``), as checkpoints stored them before the kernels of one stage were merged."""
    base, _, last = bank_key.rpartition('.')
    parts = last.split('_')  # w{t}, dw{stage}, candidate, candidate, ...
    if bank_key in state_dict or len(parts) < 4 or not parts[1].startswith('dw'):
        return
    separate = [f"{base}.{parts[0]}_{parts[1]}_{o}" for o in parts[2:]]
    if all(key in state_dict for key in separate):
        state_dict[bank_key] = _joined('weight', [state_dict.pop(key) for key in separate])


def convert_edge_state(cell: nn.Module, state_dict: Dict[str, torch.Tensor], prefix: str, *_) -> None:
    """Rewrites, in place, the entries of ``state_dict`` under ``prefix`` (``cell``'s) that are in the other
    storage layout: per-edge entries into ``cell``'s banks, or bank entries into its per-edge tensors (the cell's
    load_state_dict pre-hook)."""
    banked = cell._bank_layout
    bank_prefix = prefix + 'banks.'
    if not banked and not any(key.startswith(bank_prefix) for key in state_dict):
        return
    names = {id(m): name for name, m in cell.named_modules()}
    if banked:
        layout = [(name, kind, [(m, attr, rows) for m, attr, _, rows in placed]) for name, kind, placed in banked]
    else:
        layout = [(name, kind, [(m, attr, 1 if kind == 'count' else getattr(m, attr).shape[0]) for m, attr in members])
                  for name, kind, members in bank_members(cell._plan())]
    for name, kind, members in layout:
        bank_key = bank_prefix + name
        _join_separate_kernel_banks(state_dict, bank_key)
        edge_keys = [f'{prefix}{names[id(m)]}.{attr}' for m, attr, _ in members]
        if banked and bank_key not in state_dict and all(k in state_dict for k in edge_keys):
            values = [state_dict.pop(k) for k in edge_keys]
            state_dict[bank_key] = _joined(kind, values)
        elif not banked and bank_key in state_dict:
            value, row = state_dict.pop(bank_key), 0
            for key, (m, _, rows) in zip(edge_keys, members):
                state_dict[key] = (value[row] if kind == 'count' else _own_rows(value, _kernel(m), row, rows)).clone()
                row += rows
