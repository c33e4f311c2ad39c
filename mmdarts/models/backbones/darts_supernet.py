from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmdarts.registry import MODELS
from mmdarts.structures import CELL_TYPES, cell_edges

from ..ops import DARTS_PRIMITIVES, batched_batch_norm_counters, check_primitives, on_batch_statistics
from ..search import SearchCell
from ..utils import check_input_size
from ..utils.network_checks import (
    cell_channels,
    check_both_cell_types,
    check_ints,
    check_out_indices,
    constructor_arguments,
    reduction_layers,
)


@MODELS.register_module()
class DartsSupernet(BaseModule):
    """The DARTS search network (Liu et al., 2019, Sec. 3.1.1): a conv stem and ``num_layers`` search cells,
    reduction cells at 1/3 and 2/3 of the depth, every edge a mixed op over ``primitives``.

    The op weights are not parameters of the supernet: the architecture parameters α live in a
    :class:`~mmdarts.models.DiffMutator`, and a forward runs inside :meth:`arch_weights`, which hands the network
    the weights of the moment (``Darts`` does this at every forward).

    Args:
        base_channels (int): channels of a node in the first cells; doubled at each reduction. Defaults to 16.
        num_layers (int): number of cells. Defaults to 8.
        num_nodes (int): intermediate nodes per cell. Defaults to 4.
        stem_multiplier (int): the stem has ``stem_multiplier * base_channels`` channels. Defaults to 3.
        primitives (Sequence[str]): candidate ops, names registered in ``CANDIDATE_OPS``. Defaults to the paper's 8.
        in_channels (int): input image channels. Defaults to 3.
        act_cfg (dict): activation of every op, a ``torch.nn`` class name. Defaults to ``dict(type='ReLU')``.
        out_indices (Sequence[int]): cells whose outputs are returned. Defaults to the last.
        partial_channels (int): PC-DARTS's K: only 1/K of each state's channels go through the mixed ops, the rest
            bypass them, followed by a channel shuffle. Defaults to 1 (DARTS).
        edge_layout (str): ``'auto'``, ``'batched'`` or ``'per_edge'``: how the cells store their mixed edges'
            weights (:class:`~mmdarts.models.search.SearchCell`; the same numbers either way, either storage loads
            the other's state dict). Defaults to ``'auto'`` (batched where CUDA is available, else per edge).
        auxiliary_skip (bool): DARTS- (Chu et al., ICLR 2021): every mixed op adds β·skip(x) to its sum, ``skip``
            the ``skip_connect`` candidate (the identity, a FactorizedReduce of its own on stride-2 edges), β the
            buffer ``auxiliary_skip_weight``, which :class:`~mmdarts.models.Darts` decays linearly from 1 at the
            first epoch to 0 at the end of the search. α has no entry for it; the genotype never holds it.
            Defaults to False.
        init_cfg (dict, optional): initialisation config. Defaults to None.

    Shapes: input ``(N, in_channels, H, W)``; each output ``(N, num_nodes * C_i, H_i, W_i)``.
    """

    def __init__(self,
                 base_channels: int = 16,
                 num_layers: int = 8,
                 num_nodes: int = 4,
                 stem_multiplier: int = 3,
                 primitives: Sequence[str] = DARTS_PRIMITIVES,
                 in_channels: int = 3,
                 act_cfg: Optional[Dict] = dict(type='ReLU'),
                 out_indices: Sequence[int] = (-1, ),
                 partial_channels: int = 1,
                 edge_layout: str = 'auto',
                 auxiliary_skip: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        check_ints('DartsSupernet', base_channels=base_channels, num_layers=num_layers, num_nodes=num_nodes,
                   stem_multiplier=stem_multiplier, in_channels=in_channels, partial_channels=partial_channels)
        check_both_cell_types(num_layers, 'DartsSupernet')
        self.partial_channels = partial_channels
        self.primitives = check_primitives(primitives, 'DartsSupernet: primitives')
        self.num_nodes = num_nodes
        self.num_layers = num_layers
        self.out_indices = check_out_indices(out_indices, num_layers, 'DartsSupernet')
        self.reduction_layers = reduction_layers(num_layers)

        stem_channels = stem_multiplier * base_channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False), nn.BatchNorm2d(stem_channels))
        prev_prev, prev, reduction_prev = stem_channels, stem_channels, False
        self.cells = nn.ModuleList()
        self.out_channels: List[int] = []
        for channels, reduction in cell_channels(base_channels, num_layers):
            self.cells.append(
                SearchCell(num_nodes, prev_prev, prev, channels, reduction, reduction_prev, self.primitives, act_cfg,
                           partial_channels, edge_layout, auxiliary_skip))
            prev_prev, prev, reduction_prev = prev, num_nodes * channels, reduction
            self.out_channels.append(prev)
        self._arch_weights: Optional[Dict[str, torch.Tensor]] = None
        self.auxiliary_skip = bool(auxiliary_skip)
        if self.auxiliary_skip:
            self.register_buffer('auxiliary_skip_weight', torch.ones(()))

    @classmethod
    def feature_channels(cls, **kwargs) -> Tuple[List[int], None]:
        """The channels of each output of a supernet built with ``kwargs``, without building it, and None (no
        auxiliary output). Heads left without ``in_channels`` get the last (see ``complete_head_channels``)."""
        args = constructor_arguments(cls, kwargs, 'DartsSupernet')
        check_ints('DartsSupernet', base_channels=args['base_channels'], num_layers=args['num_layers'])
        check_both_cell_types(args['num_layers'], 'DartsSupernet')
        out = [args['num_nodes'] * c for c, _ in cell_channels(args['base_channels'], args['num_layers'])]
        picked = sorted(check_out_indices(args['out_indices'], args['num_layers'], 'DartsSupernet'))
        return [out[i] for i in picked], None

    @property
    def search_space(self) -> Dict[str, Tuple[int, int]]:
        """The shape of the op-weight table of each cell type: ``{'normal': (num_edges, num_ops), 'reduce': ...}``."""
        return {cell: (len(cell_edges(self.num_nodes)), len(self.primitives)) for cell in CELL_TYPES}

    @contextmanager
    def arch_weights(self, weights: Dict[str, torch.Tensor]) -> Iterator[None]:
        """Runs forwards inside with these op weights (``{'normal': (E, O), 'reduce': (E, O)}``, e.g. softmax(α)),
        and optionally edge weights (``{'normal_edges': (E,), 'reduce_edges': (E,)}``, PC-DARTS)."""
        for cell, shape in self.search_space.items():
            given = weights.get(cell) if isinstance(weights, dict) else None
            got = None if given is None else tuple(given.shape)
            if got != shape:
                raise ValueError(f'DartsSupernet.arch_weights: {cell!r} weights must have shape {shape} '
                                 f'(edges, ops), got {got}')
        previous, self._arch_weights = self._arch_weights, weights
        try:
            yield
        finally:
            self._arch_weights = previous

    def forward(self, x: torch.Tensor, copies: int = 1) -> Tuple[torch.Tensor, ...]:
        """``copies`` > 1: every weight holds that many copies one after the other (the stem's conv ``copies`` times
        its filters, each later conv its input's), where :meth:`copies_unavailable` allows: the network runs once over
        all copies, each state holding theirs side by side, ``(N, copies·C, H, W)``, and so does each output. A
        twin pass (:mod:`~mmdarts.models.algorithms.twin_pass`) runs Eq. 8's w⁺ and w⁻ so."""
        if self._arch_weights is None:
            raise RuntimeError('DartsSupernet needs op weights at every forward: run it through the Darts algorithm, '
                               'or inside `with supernet.arch_weights(mutator.arch_weights()):`')
        check_input_size(x, 2**len(self.reduction_layers), 'DartsSupernet', len(self.reduction_layers))
        weights = self._arch_weights
        if self.auxiliary_skip:
            weights = {kind: with_auxiliary_skip(weights[kind], self.auxiliary_skip_weight) for kind in CELL_TYPES}
        s0 = s1 = self.stem(x)  # with copies: the shared image read once by the copies' filters
        outs = []
        with batched_batch_norm_counters():  # the mixed ops' BN counts: one call at the end, not ~900
            for i, cell in enumerate(self.cells):
                kind = 'reduce' if cell.reduction else 'normal'
                s0, s1 = s1, cell(s0, s1, weights[kind], self._arch_weights.get(f'{kind}_edges'), copies)
                if i in self.out_indices:
                    outs.append(s1)
        return tuple(outs)

    def copies_unavailable(self, x: torch.Tensor) -> Optional[str]:
        """Why :meth:`forward` cannot run weight copies side by side on ``x``, or None where it can: a contiguous
        input, a plain stem, BNs on batch statistics (inside the α step's
        ``frozen_running_stats``), every cell able to (:meth:`~mmdarts.models.search.SearchCell.copies_unavailable`),
        and this forward, not a subclass's."""
        stem = self.stem
        if type(self).forward is not DartsSupernet.forward:
            return f'{type(self).__name__} overrides the forward'
        if not x.is_contiguous():
            return 'a channels-last input (memory_format)'
        if not (len(stem) == 2 and type(stem[0]) is nn.Conv2d and type(stem[1]) is nn.BatchNorm2d
                and on_batch_statistics(stem[1])):
            return 'its stem is not a plain conv and a BN on batch statistics'
        return next((f'cell {i}: {why}' for i, cell in enumerate(self.cells)
                     for why in [cell.copies_unavailable()] if why), None)

    def describe(self) -> str:
        """How the cells compute their edges, in words (the search step's log)."""
        ways = [cell.describe() for cell in self.cells]
        if len(set(ways)) == 1:
            return f'{len(ways)} cells {ways[0]}'
        return ', '.join(f'cell {i} {way}' for i, way in enumerate(ways))


def with_auxiliary_skip(weights: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """DARTS-'s mixed op, ō(x) = β·skip(x) + Σ_o w_o·o(x): the op weights ``(edges, ops)`` with a last column of β
    for each edge's auxiliary skip (the last candidate of its mixed op)."""
    return torch.cat([weights, beta.to(weights.dtype).expand(weights.shape[0], 1)], dim=1)
