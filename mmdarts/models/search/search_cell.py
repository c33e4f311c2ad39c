"""The mixed op (Eq. 2 of Liu et al., 2019) and the search cell built of them (Sec. 2.1)."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from mmdarts.structures import cell_edges

from ..functional.gradients import dense_gradient
from ..ops import ActConvBN, FactorizedReduce, Zero, build_candidate_op, on_batch_statistics
from .batched_cell import BatchedCell
from .edge_banks import bank_edges, convert_edge_state, edge_views
from .fused_mixing import fused_candidate, split_activation
from .partial_channels import PartialChannels, edge_scaled_weights


class MixedOp(nn.Module):
    """Every candidate op on one edge, mixed by the given weights: ō(x) = Σ_o w_o · o(x) (Eq. 2).

    Candidates are built without affine BN, pools followed by BN (the paper's search code). The forward computes
    exactly that sum, faster (:mod:`.fused_mixing`): ``none`` adds zero so is not computed (its weight still takes
    its share of the softmax, applied by the caller), the leading activation shared by the conv candidates is
    computed once per input state, and each weight is folded into its candidate's final BN. ``reference=True``
    computes the sum literally, every candidate included, as the paper writes it.
    """

    def __init__(self, channels: int, stride: int, primitives: Sequence[str], act_cfg: Optional[Dict],
                 reference: bool = False):
        super().__init__()
        self.stride = stride
        self.reference = reference
        self.ops = nn.ModuleList(self._build(p, channels, stride, act_cfg) for p in primitives)
        self._computed = [k for k, op in enumerate(self.ops) if not isinstance(op, Zero)]
        self._activations = [split_activation(op) for op in self.ops]

    @staticmethod
    def _build(name: str, channels: int, stride: int, act_cfg: Optional[Dict]) -> nn.Module:
        op = build_candidate_op(name, channels, stride, False, act_cfg)
        if 'pool' in name:  # parameter-free pools get a BN in the search, as in the paper's code
            op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
        return op

    def forward(self, x: torch.Tensor, weights: torch.Tensor,
                activations: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        """``weights``: one per op, shape ``(num_ops,)``, or each as a vector of its value per channel, shape
        ``(num_ops, channels)`` (:func:`op_weight_vectors`; the literal sum of ``reference`` takes the first form).
        ``activations``: leading activations of ``x`` already computed, by key; the ones this edge computes are
        added, so edges reading the same state share them."""
        if self.reference:
            weights = weights[:, 0] if weights.dim() == 2 else weights
            return sum(w * op(x) for w, op in zip(weights, self.ops))
        if not self._computed:
            return self.ops[0](x)
        cache = {} if activations is None else activations
        weights = weights.unbind(0)  # one call for all ops, not one indexing call per op
        out = None
        for k in self._computed:
            key, act = self._activations[k]
            activated = None
            if key is not None:
                if key not in cache:
                    cache[key] = act(x)
                activated = cache[key]
            y = fused_candidate(self.ops[k], x, weights[k], activated)
            out = y if out is None else out + y
        return dense_gradient(out)


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
        edge_layout (str): how the mixed edges are computed: ``'per_edge'`` (each edge its own kernels,
            :class:`MixedOp`), ``'batched'`` (the edges leaving the same states together,
            :class:`~mmdarts.models.search.batched_cell.BatchedCell`: the same numbers in a fraction of the kernel
            launches, the grouped weights and BN statistics stored as one tensor each,
            :mod:`~mmdarts.models.search.edge_banks`) or ``'auto'`` (batched except on CPU, where the per-edge
            path's CPU kernels measure faster; stored batched where CUDA is available when the cell is built).
            A cell stored per edge that runs batched on CPU takes the CPU's plan of the waves (each edge a wave,
            each candidate its own part: ``BatchedCell(for_cpu=True)``). ``MixedOp.reference`` runs per edge.
            Either storage loads the other's state dict.
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
        self._plans: Dict[bool, BatchedCell] = {}  # the batched computation, by for_cpu (BatchedCell)
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
        stored_batched = edge_layout == 'batched' or (edge_layout == 'auto' and cuda_available())
        if stored_batched:
            self._bank_layout, self._plans[False] = bank_edges(self, self._plan())
        self._register_load_state_dict_pre_hook(self._convert_state)

    def _convert_state(self, state_dict, prefix, *args) -> None:
        convert_edge_state(self, state_dict, prefix)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                edge_weights: Optional[torch.Tensor] = None, copies: int = 1) -> torch.Tensor:
        """``weights``: op weights of shape ``(num_edges, num_ops)``, rows in :func:`cell_edges` order;
        ``edge_weights``: optional ``(num_edges,)`` factors of each edge's output (PC-DARTS's edge normalisation).
        ``copies`` > 1: the states and the weights hold that many weight copies side by side, ``(N, copies·C, H,
        W)``, where :meth:`copies_unavailable` allows (a twin pass: Eq. 8's w⁺ and w⁻)."""
        states: List[torch.Tensor] = [self.preprocess0(s0, copies), self.preprocess1(s1, copies)]
        weights = edge_scaled_weights(weights, edge_weights)

        def complete(node: int, mixed: torch.Tensor, states: List[torch.Tensor]) -> torch.Tensor:
            return self.partial.complete(node, mixed, states, edge_weights)

        batched = self.batched_plan(states[0].device)
        if batched is not None:
            return batched(states, weights, copies, self.partial.mixed_input, complete)
        if copies > 1:
            raise ValueError(f'SearchCell: weight copies side by side run only where the cell is batched '
                             f'({self.copies_unavailable(states[0].device)})')
        with edge_views(self):
            return self._per_edge_forward(states, weights, complete)

    def copies_unavailable(self, device: torch.device) -> Optional[str]:
        """Why :meth:`forward` cannot compute weight copies side by side on ``device``, or None where it can: its
        edges batched and stored so, each a batched candidate, the preprocessing grouped by copy, every BN on
        batch statistics (inside the α step's ``frozen_running_stats``)."""
        plan = self.batched_plan(device)
        if plan is None:
            return 'it runs its edges per edge'
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

    def describe(self, device: torch.device) -> str:
        """How this cell computes its edges on ``device``, in words (the search step's log)."""
        plan = self.batched_plan(device)
        if plan is None:
            return f'per edge ({self._per_edge_reason(device)})'
        generic = self._candidates_of(plan, 'generic')
        return (f'batched, {len(plan.waves)} waves' + (f', {generic} as generic modules (grouped by edge)'
                                                        if generic else ''))

    def _chosen_per_edge(self, device: torch.device) -> Optional[str]:
        """Why the cell runs per edge on ``device`` by its settings (the reference sum, edge_layout),
        whatever its modules; None where they let it batch."""
        if any(op.reference for op in self.mixed_ops):
            return 'the reference sum'
        if self.edge_layout == 'per_edge' or (self.edge_layout == 'auto' and device.type == 'cpu'):
            return f"edge_layout='{self.edge_layout}'" + (f' on {device.type}' if self.edge_layout == 'auto' else '')
        return None

    def _per_edge_reason(self, device: torch.device) -> str:
        chosen = self._chosen_per_edge(device)
        if chosen is not None:
            return chosen
        unbatchable = self._candidates_of(self._plan(), 'unbatchable')
        if unbatchable:
            return f'candidates {unbatchable} differ between the edges of a wave'
        return 'its BNs differ in eps, mode or momentum'

    def _per_edge_forward(self, states: List[torch.Tensor], weights: torch.Tensor, complete) -> torch.Tensor:
        activations: List[Dict[str, torch.Tensor]] = [{}, {}]  # shared leading activations of each state
        rows = op_weight_vectors(weights, self.op_channels).unbind(0)
        inputs = [self.partial.mixed_input(s) for s in states]
        k = 0
        for node in range(self.num_nodes):
            total = None
            for j in range(len(states)):
                y = self.mixed_ops[k](inputs[j], rows[k], activations[j])
                total = y if total is None else total + y
                k += 1
            states.append(complete(node, total, states))
            inputs.append(self.partial.mixed_input(states[-1]))
            activations.append({})
        return torch.cat(states[2:], dim=1)

    def batched_plan(self, device: torch.device) -> Optional[BatchedCell]:
        """The batched computation of this cell's edges on ``device``, or None where they run per edge."""
        if self._chosen_per_edge(device) is not None:
            return None
        for_cpu = device.type == 'cpu' and self.banks is None  # banks hold the groups of the one plan they were made by
        plan = self._plan(for_cpu)
        if not plan.in_place():
            if self.banks is not None:
                raise RuntimeError('SearchCell: modules of its mixed ops were replaced (e.g. by SyncBatchNorm.'
                                   'convert_sync_batchnorm) after the cell stored its edges batched; build the '
                                   "supernet with edge_layout='per_edge' to convert them")
            self._plans.clear()  # stored per edge: a plan over the modules of now
            plan = self._plan(for_cpu)
        return plan if plan.usable() else None

    def _plan(self, for_cpu: bool = False) -> BatchedCell:
        if for_cpu not in self._plans:
            self._plans[for_cpu] = BatchedCell(self.mixed_ops, self.num_nodes, self.op_channels, for_cpu)
        return self._plans[for_cpu]


EDGE_LAYOUTS = ('auto', 'per_edge', 'batched')


def cuda_available() -> bool:
    """Whether ``edge_layout='auto'`` stores a cell batched (a GPU will run it so); a name tests can patch."""
    return torch.cuda.is_available()


def op_weight_vectors(weights: torch.Tensor, channels: int) -> torch.Tensor:
    """The op weights of a cell, ``(num_edges, num_ops)``, each repeated over ``channels``: a contiguous
    ``(num_edges, num_ops, channels)`` tensor whose vectors are the affine scales of the BNs the weights are folded
    into (:func:`~mmdarts.models.search.fused_mixing.channel_scale`). Three operator calls for the whole cell, where
    indexing and expanding each weight took three per candidate (each a kernel launch on a GPU)."""
    return weights.unsqueeze(-1).expand(*weights.shape, channels).contiguous()
