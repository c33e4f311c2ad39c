"""The mixed op (Eq. 2 of Liu et al., 2019) and the search cell built of them (Sec. 2.1)."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from torch.func import functional_call

from mmdarts.structures import cell_edges

from ..ops import ActConvBN, FactorizedReduce, build_candidate_op, on_batch_statistics
from .batched_cell import BatchedCell
from .edge_banks import bank_edges, bank_views, convert_edge_state
from .partial_channels import PartialChannels, edge_scaled_weights


class MixedOp(nn.Module):
    """Every candidate op on one edge, mixed by the given weights: ō(x) = Σ_o w_o · o(x) (Eq. 2).

    Candidates are built without affine BN, pools followed by BN (the paper's search code). The module holds the
    edge's candidates and computes the sum literally, every candidate included, as the paper writes it: the
    reference that the search cell's waves (:class:`~.batched_cell.BatchedCell`, the same numbers in fewer and
    cheaper calls) are tested against. ``reference=True`` makes its cell compute its edges so.
    """

    def __init__(self, channels: int, stride: int, primitives: Sequence[str], act_cfg: Optional[Dict],
                 reference: bool = False):
        super().__init__()
        self.reference = reference
        self.ops = nn.ModuleList()
        for name in primitives:
            op = build_candidate_op(name, channels, stride, False, act_cfg)
            # parameter-free pools get a BN in the search, as in the paper's code
            self.ops.append(nn.Sequential(op, nn.BatchNorm2d(channels, affine=False)) if 'pool' in name else op)
        # each candidate's number of weights (SizeAwareDecay), counted before its cell may move them into banks
        self.sizes = [sum(p.numel() for p in op.parameters()) for op in self.ops]

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``weights``: one per op, shape ``(num_ops,)``."""
        return sum(w * op(x) for w, op in zip(weights, self.ops))


class SearchCell(nn.Module):
    """A DARTS search cell: two preprocessed inputs, ``num_nodes`` nodes each summing mixed ops over all earlier
    states, and the channel-wise concatenation of the nodes as output.

    Args:
        num_nodes (int): intermediate nodes.
        prev_prev_channels, prev_channels (int): channels of the inputs c_{k-2} and c_{k-1}.
        channels (int): channels of every node; the output has ``num_nodes * channels``.
        reduction (bool): whether this cell halves the spatial size (edges from the inputs use stride 2).
        reduction_prev (bool): whether the previous cell did, so c_{k-2} is twice as large as c_{k-1}.
        primitives (Sequence[str]): candidate op names.
        act_cfg (dict): activation of the ops and of the preprocessing.
        partial (int): PC-DARTS's K: only the first 1/K of each state's channels go through the mixed ops
            (:mod:`.partial_channels`).
        edge_layout (str): how the mixed edges are computed and stored, both in waves
            (:class:`~mmdarts.models.search.batched_cell.BatchedCell`): ``'batched'`` (the edges leaving the same
            states together, each family of candidates as one grouped conv and one BN: fewest kernel launches,
            for GPUs; their weights and BN statistics stored grouped, one tensor per group,
            :mod:`~mmdarts.models.search.edge_banks`), ``'per_edge'`` (each edge a wave and each candidate its own
            part: the kernels the CPU runs fastest and the fewest stored activations; stored in each edge's
            :class:`MixedOp`) or ``'auto'`` (batched where CUDA is available when the cell is built, else per
            edge). Either storage loads the other's state dict. ``MixedOp.reference`` (the tests' oracle) computes
            the literal sum instead, as does a cell whose candidates the waves cannot compute (the log says why).
            Defaults to ``'auto'``.
        auxiliary_skip (bool): DARTS-: every mixed op holds a ``skip_connect`` after the candidates, weighted by a
            last column of the weights (:func:`~mmdarts.models.backbones.darts_supernet.with_auxiliary_skip`).
            Defaults to False.
    """

    def __init__(self, num_nodes: int, prev_prev_channels: int, prev_channels: int, channels: int, reduction: bool,
                 reduction_prev: bool, primitives: Sequence[str], act_cfg: Optional[Dict] = dict(type='ReLU'),
                 partial: int = 1, edge_layout: str = 'auto', auxiliary_skip: bool = False):
        super().__init__()
        if edge_layout not in EDGE_LAYOUTS:
            raise ValueError(f'SearchCell: edge_layout must be one of {EDGE_LAYOUTS}, got {edge_layout!r}')
        self.edge_layout = edge_layout
        self._plans: Dict[bool, BatchedCell] = {}  # the batched computation, by per_edge (BatchedCell)
        self.banks: Optional[nn.Module] = None  # the batched storage, where the cell has it
        self._bank_layout = None
        self.reduction = reduction
        self.num_nodes = num_nodes
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(prev_prev_channels, channels, affine=False, act_cfg=act_cfg)
        else:
            self.preprocess0 = ActConvBN(prev_prev_channels, channels, 1, 1, 0, affine=False, act_cfg=act_cfg)
        self.preprocess1 = ActConvBN(prev_channels, channels, 1, 1, 0, affine=False, act_cfg=act_cfg)
        self.edges = cell_edges(num_nodes)
        self.primitives = list(primitives)
        self.op_names = self.primitives + (['skip_connect'] if auxiliary_skip else [])  # one per weight column
        if channels % partial:
            raise ValueError(f'SearchCell: {channels} channels cannot be split into 1/{partial} (partial_channels)')
        self.partial = PartialChannels(partial, self.edges, reduction)
        self.op_channels = channels // partial
        self.mixed_ops = nn.ModuleList(
            MixedOp(self.op_channels, 2 if reduction and j < 2 else 1, self.op_names, act_cfg) for _, j in self.edges)
        if edge_layout == 'batched' or (edge_layout == 'auto' and torch.cuda.is_available()):  # stored batched
            self._bank_layout, self._edge_rows, self._plans[False] = bank_edges(self, self._plan())
        self.register_load_state_dict_pre_hook(convert_edge_state)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                edge_weights: Optional[torch.Tensor] = None, copies: int = 1) -> torch.Tensor:
        """``weights``: op weights of shape ``(num_edges, num_ops)``, rows in :func:`cell_edges` order;
        ``edge_weights``: optional ``(num_edges,)`` factors of each edge's output (PC-DARTS's edge normalisation).
        ``copies`` > 1: the states and the weights hold that many weight copies side by side, ``(N, copies·C, H,
        W)``, where :meth:`copies_unavailable` allows (a twin pass: Eq. 8's w⁺ and w⁻)."""
        states: List[torch.Tensor] = [self.preprocess0(s0, copies), self.preprocess1(s1, copies)]
        weights = edge_scaled_weights(weights, edge_weights)
        batched = self.batched_plan()
        if batched is not None:
            return batched(states, weights, copies, self.partial, edge_weights)
        if copies > 1:
            raise ValueError(f'SearchCell: weight copies side by side run only where the cell is batched '
                             f'({self.copies_unavailable()})')
        return self._literal_forward(states, weights, edge_weights)

    def copies_unavailable(self) -> Optional[str]:
        """Why :meth:`forward` cannot compute weight copies side by side, or None where it can: its
        edges batched and stored so, each a batched candidate, the preprocessing grouped by copy, every BN on
        batch statistics (inside the α step's ``frozen_running_stats``)."""
        plan = self.batched_plan()
        if plan is None:
            return 'it computes its edges as the literal sum'
        if self.banks is None:
            return "its edges are stored per edge (built where CUDA was not available: edge_layout='batched')"
        if not (self.preprocess0.copies_supported() and self.preprocess1.copies_supported()):
            return ('its input preprocessing cannot (an activation with weights, another conv or BN, or BN '
                    'statistics tracked)')
        if not all(on_batch_statistics(bn) for bn in plan.batch_norms[:1]):  # all alike (usable())
            return 'its BNs track running statistics (outside the α step)'
        return None

    def _candidates_of(self, plan: BatchedCell, what: str) -> List[str]:
        """The candidates of ``plan``'s waves that are ``what``: ``'generic'`` (batched under vmap, no batched
        form of their own) or ``'unbatchable'`` (generic modules not alike on every edge)."""
        return sorted({self.op_names[o] for wave in plan.waves for o in getattr(wave, what)})

    def describe(self) -> str:
        """How this cell computes its edges, in words (the search step's log)."""
        plan = self.batched_plan()
        if plan is None:
            return f'the literal sum per edge ({self._literal_reason()})'
        generic = self._candidates_of(plan, 'generic')
        waves = 'per edge (each edge a wave)' if plan.per_edge else f'batched, {len(plan.waves)} waves'
        return waves + (f', {generic} as generic modules (grouped by edge)' if generic else '')

    def _literal_reason(self) -> str:
        plan = self._tried_plan()
        if plan is None:
            return 'the reference'
        if plan.synced:
            return 'SyncBatchNorm: each BN synchronises in its own forward'
        unbatchable = self._candidates_of(plan, 'unbatchable')
        if unbatchable:
            return f'candidates {unbatchable} differ between the edges of a wave'
        return 'its BNs differ in eps, mode or momentum'

    def _literal_forward(self, states: List[torch.Tensor], weights: torch.Tensor,
                         edge_weights: Optional[torch.Tensor]) -> torch.Tensor:
        """The cell edge by edge, each mixed op its literal sum (:class:`MixedOp`), on views of the banks where the
        cell stores its weights there."""
        inputs = [self.partial.mixed_input(s) for s in states]
        k = 0
        for node in range(self.num_nodes):
            total = None
            for j in range(len(states)):
                if self.banks is None:
                    y = self.mixed_ops[k](inputs[j], weights[k])
                else:
                    y = functional_call(self.mixed_ops[k], bank_views(self.banks, self._edge_rows[k]),
                                        (inputs[j], weights[k]))
                total = y if total is None else total + y
                k += 1
            states.append(self.partial.complete(node, total, states, edge_weights))
            inputs.append(self.partial.mixed_input(states[-1]))
        return torch.cat(states[2:], dim=1)

    def batched_plan(self) -> Optional[BatchedCell]:
        """The computation of this cell's edges in waves (the per-edge plan where the cell stores its edges per
        edge, else the batched one), or None where they run as the literal sum (the reference, or a cell the waves
        cannot compute)."""
        plan = self._tried_plan()
        return plan if plan is not None and plan.usable() else None

    def _tried_plan(self) -> Optional[BatchedCell]:
        """The waves of :meth:`batched_plan`, usable or not; None for the reference."""
        if any(op.reference for op in self.mixed_ops):
            return None
        per_edge = self.banks is None  # banks hold the groups of the one plan they were made by
        plan = self._plan(per_edge)
        if not plan.in_place():
            if self.banks is not None:
                raise RuntimeError('SearchCell: modules of its mixed ops were replaced (e.g. by SyncBatchNorm.'
                                   'convert_sync_batchnorm) after the cell stored its edges batched; build the '
                                   "supernet with edge_layout='per_edge' to convert them")
            self._plans.clear()  # stored per edge: a plan over the modules of now
            plan = self._plan(per_edge)
        return plan

    def _plan(self, per_edge: bool = False) -> BatchedCell:
        if per_edge not in self._plans:
            self._plans[per_edge] = BatchedCell(self.mixed_ops, self.num_nodes, self.op_channels, per_edge)
        return self._plans[per_edge]


EDGE_LAYOUTS = ('auto', 'per_edge', 'batched')
