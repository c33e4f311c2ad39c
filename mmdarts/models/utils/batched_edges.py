"""The edges that leave the same states, computed together: fewer, larger kernels, the same numbers (issue 16).

A search cell's edges run in waves: first every edge from the cell's two inputs, then, each time a node is complete,
the edges leaving it. Within a wave each kind of candidate runs once for all its edges:

- conv candidates (:class:`DilConv`, :class:`SepConv`): the shared activation of the sources once, repeated per
  edge; each depthwise conv as one grouped conv over all edges; the pointwise convs of every (candidate, edge) pair
  as one grouped 1x1 conv; their BNs as one BN over the concatenated channels, whose affine scale is 1 for a
  separable conv's middle BN and the op weight for a final BN (w·BN(x) folded, as in :mod:`.fused_mixing`);
- pools: each pool once over the sources, repeated per edge, their BNs as one (scaled by the op weights);
- :class:`FactorizedReduce` (the reduce skip): its two 1x1 convs as two grouped convs over the sources, its BN as one;
- the identity: the sources times the op weights, in one product.

Any other candidate runs per edge. Then one sum over candidates and sources gives each node's share of the wave.
Weights are concatenated at every forward (so ``functional_call``'s virtual weights go through); BN running
statistics are gathered and written back, only where they are tracked. The result equals the per-edge
:class:`~mmdarts.models.utils.MixedOp` path's (tests: float64, every gradient and statistic).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdarts.structures import cell_edges

from ..ops import DilatedConv2d, DilConv, FactorizedReduce, SepConv, Zero
from ..ops.dilated_conv import conv_with_geometry
from ..ops.recomputed_conv import _DEFERRED_COUNTERS
from .fused_mixing import first_leaf, foldable_batch_norm, fused_candidate, recomputable_prefix, shareable_activation

ONE = -1  # a scale entry that is the constant 1 (a separable conv's middle BN), not an op weight


def edge_waves(num_nodes: int) -> List[Tuple[List[int], List[int]]]:
    """``(source states, cell edge indices)`` of each wave: the edges from the two inputs, ordered (node, input),
    then for each node but the last the edges leaving it, ordered by node. Edge indices follow :func:`cell_edges`.
    Within a wave the edges are ordered (node, source), so one ``repeat`` of the sources feeds them all."""
    index = {edge: k for k, edge in enumerate(cell_edges(num_nodes))}
    waves = [([0, 1], [index[(node, j)] for node in range(num_nodes) for j in (0, 1)])]
    for t in range(1, num_nodes):
        waves.append(([t + 1], [index[(node, t + 1)] for node in range(t, num_nodes)]))
    return waves


class Concat(torch.autograd.Function):
    """``torch.cat`` whose backward is one ``split`` call (torch's cat backward slices once per input); twice
    differentiable."""

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim, ctx.sizes = dim, [t.shape[dim] for t in tensors]
        return torch.cat(tensors, dim)

    @staticmethod
    def backward(ctx, grad):
        return (None, ) + tuple(grad.split(ctx.sizes, ctx.dim))


def concat(tensors: Sequence[torch.Tensor], dim: int = 0) -> torch.Tensor:
    return Concat.apply(dim, *tensors) if len(tensors) > 1 else tensors[0]


def _plain_depthwise(conv: nn.Module) -> bool:
    return (isinstance(conv, nn.Conv2d) and conv.bias is None and conv.padding_mode == 'zeros'
            and not isinstance(conv.padding, str) and conv.groups == conv.in_channels == conv.out_channels)


def _plain_pointwise(conv: nn.Module, stride: Tuple[int, int] = (1, 1)) -> bool:
    return (type(conv) is nn.Conv2d and conv.bias is None and conv.kernel_size == (1, 1) and conv.groups == 1
            and tuple(conv.stride) == stride and conv.padding == (0, 0) and conv.dilation == (1, 1))


def _plain_dil_conv(op: nn.Module, key: str) -> bool:
    return (type(op) is DilConv and shareable_activation(op) == key and _plain_depthwise(op[1])
            and _plain_pointwise(op[2]) and foldable_batch_norm(op) is not None)


def candidate_kind(op: nn.Module, key: Optional[str]) -> str:
    """How a wave computes this candidate: ``'zero'``, ``'identity'``, ``'pool'``, ``'dil'``, ``'sep'``,
    ``'factorized'`` (batched), or ``'other'`` (per edge). ``key``: the activation the wave shares."""
    if isinstance(op, Zero):
        return 'zero'
    if type(op) is nn.Identity:
        return 'identity'
    if recomputable_prefix(op) is not None and foldable_batch_norm(op) is not None:
        return 'pool'
    if key is not None and _plain_dil_conv(op, key):
        return 'dil'
    if (key is not None and type(op) is SepConv and all(_plain_dil_conv(half, key) for half in op)
            and tuple(op[1][1].stride) == (1, 1)):
        return 'sep'
    if (key is not None and type(op) is FactorizedReduce and shareable_activation(op) == key
            and _plain_pointwise(op.conv1, (2, 2)) and _plain_pointwise(op.conv2) and foldable_batch_norm(op)):
        return 'factorized'
    return 'other'


def repeated(x: torch.Tensor, groups: int, times: int) -> torch.Tensor:
    """``x`` ``(N, groups·C, H, W)`` with each group of channels repeated ``times`` times in a row:
    ``(N, groups·times·C, H, W)``."""
    if groups == 1:
        return x.repeat(1, times, 1, 1)
    n, _, h, w = x.shape
    return x.reshape(n, groups, 1, -1).repeat(1, 1, times, 1).reshape(n, -1, h, w)


class InputSavingReLU(torch.autograd.Function):
    """ReLU whose backward reads its input instead of its output (the same mask): torch's ReLU saves its output,
    which costs a ``detach`` call; the input here is a state or a BN output, kept anyway. Twice differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return torch.ops.aten.threshold_backward(grad, x, 0)


def activation(act: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``act(x)``, a plain ReLU through :class:`InputSavingReLU` where a gradient flows."""
    if type(act) is nn.ReLU and torch.is_grad_enabled() and x.requires_grad:
        return InputSavingReLU.apply(x)
    return act(x)


def count_batches(bns: Sequence[nn.BatchNorm2d]) -> float:
    """The momentum of a batched BN over ``bns`` (all alike), adding this batch to each one's count as its own
    forward would (deferred into one call inside ``batched_batch_norm_counters``)."""
    first = bns[0]
    if first.training and first.track_running_stats:
        counters = [bn.num_batches_tracked for bn in bns]
        deferred = _DEFERRED_COUNTERS.get()
        if deferred is not None:
            deferred.extend(counters)
        else:
            torch._foreach_add_(counters, 1)
    return first.momentum


def batched_batch_norm(z: torch.Tensor, bns: Sequence[nn.BatchNorm2d], scale: Optional[torch.Tensor]
                       ) -> torch.Tensor:
    """The training-mode BNs ``bns`` (affine-free, each over its own consecutive channels of ``z``) as one BN with
    affine scale ``scale``, their running statistics updated as each would update its own (gathered into one
    tensor, written back after). ``native_batch_norm`` itself: ``F.batch_norm`` adds an allocation call."""
    momentum = count_batches(bns)
    first = bns[0]
    if not first.track_running_stats:
        return torch.native_batch_norm(z, scale, None, None, None, True, 0.0, first.eps)[0]
    means, variances = [bn.running_mean for bn in bns], [bn.running_var for bn in bns]
    stats = concat(means + variances)
    mean, var = stats.split(z.shape[1])
    out = torch.native_batch_norm(z, scale, None, mean, var, True, momentum, first.eps)[0]  # updates mean, var
    torch._foreach_copy_(means + variances, stats.split(first.num_features))
    return out


def depthwise_geometry(conv: nn.Conv2d, x: torch.Tensor, groups: int):
    """The geometry (:data:`~mmdarts.models.ops.dilated_conv.Geometry`) of ``conv`` run over ``groups`` groups."""
    geometry = conv.computed_geometry(x) if isinstance(conv, DilatedConv2d) else None
    if geometry is None:
        geometry = (None, conv.stride, conv.padding, conv.dilation, conv.groups)
    return geometry[:4] + (groups, )


class EdgeWave:
    """The edges ``edges`` (cell edge indices, ordered (node, source)) leaving the states ``sources``, computed
    together. Call with the source states, an iterator over the wave's channel scales (in the order of
    :attr:`vector_entries`) and one over its other op weights (:attr:`scalar_entries`); returns what the wave adds
    to each node it reaches, ``(N, nodes, C, H, W)``."""

    def __init__(self, sources: Sequence[int], edges: Sequence[int], mixed_ops: Sequence[nn.Module]):
        self.sources, self.edges = list(sources), list(edges)
        ops = [mixed_ops[k] for k in edges]
        self.candidates = [[op.ops[o] for op in ops] for o in range(len(ops[0].ops))]
        key = next((shareable_activation(c[0]) for c in self.candidates
                    if isinstance(c[0], (DilConv, SepConv, FactorizedReduce)) and shareable_activation(c[0])), None)
        self.kinds = []
        for column in self.candidates:
            found = {candidate_kind(op, key) for op in column}
            alike = len({repr(op) for op in column}) == 1
            self.kinds.append(found.pop() if len(found) == 1 and alike else 'other')
        of = lambda kind: [o for o, k in enumerate(self.kinds) if k == kind]  # noqa: E731
        self.sep, self.dil, self.pools, self.identities = of('sep'), of('dil'), of('pool'), of('identity')
        self.factorized, self.others = of('factorized'), of('other')
        self.chains = self.sep + self.dil
        activated = self.chains + self.factorized
        self.act = first_leaf(self.candidates[activated[0]][0]) if activated else None
        per_edge = lambda o: [(k, o) for k in self.edges]  # noqa: E731
        # BN scales: stage 1 of every chain (1 for a separable conv's middle BN), stage 2, the pools, reduce skips
        self.vector_entries = [[(k, ONE if o in self.sep else o) for o in self.chains for k in self.edges]]
        self.vector_entries += [[e for o in self.sep for e in per_edge(o)]] if self.sep else []
        self.vector_entries += [[e for o in self.pools for e in per_edge(o)]] if self.pools else []
        self.vector_entries += [per_edge(o) for o in self.factorized]
        self.vector_entries = [entries for entries in self.vector_entries if entries]
        self.scalar_entries = [[(k, o) for k in self.edges for o in self.identities]] if self.identities else []
        self.scalar_entries += [[(k, o) for k in self.edges for o in self.others]] if self.others else []

    def batch_norms(self) -> List[nn.BatchNorm2d]:
        return [bn for o in self.chains + self.pools + self.factorized for bn in self._bns(o, 1)] + [
            bn for o in self.sep for bn in self._bns(o, 2)]

    def _bns(self, o: int, stage: int) -> List[nn.BatchNorm2d]:
        kind = self.kinds[o]
        if kind == 'factorized':
            return [op.bn for op in self.candidates[o]]
        if kind == 'sep':
            return [op[stage - 1][3] for op in self.candidates[o]]
        return [foldable_batch_norm(op) for op in self.candidates[o]]

    def __call__(self, xs: Sequence[torch.Tensor], vectors, scalars) -> torch.Tensor:
        x = concat(xs, 1)
        sources, num_edges = len(xs), len(self.edges)
        nodes, channels = num_edges // sources, x.shape[1] // sources
        width = num_edges * channels
        parts = []  # (N, E·C, H, W) each, channels ordered (edge, channel), the op weights applied
        if self.chains or self.factorized:
            hx = repeated(activation(self.act, x), 1, nodes)  # the activated source of every edge
        if self.chains:
            y = self._stage(hx, self.chains, 1, width, next(vectors))
            if self.sep:
                # one split, not two slices (each a slice_backward and an add on the way back)
                first, rest = y.split([len(self.sep) * width, len(self.dil) * width], 1) if self.dil else (y, None)
                a = activation(self.candidates[self.sep[0]][0][1][0], first)
                y2 = self._stage(a, self.sep, 2, width, next(vectors))
                y = concat([y2, rest], 1) if self.dil else y2
            parts.append(y)
        if self.pools:
            pooled = concat([repeated(self.candidates[o][0][0](x), 1, nodes) for o in self.pools], 1)
            parts.append(batched_batch_norm(pooled, [bn for o in self.pools for bn in self._bns(o, 1)],
                                            next(vectors)))
        for o in self.factorized:
            parts.append(self._factorized(o, hx, channels, next(vectors)))
        if self.identities:
            n, _, h, w = x.shape
            weights = next(scalars).view(nodes, sources, len(self.identities))
            weights = weights.sum(-1, keepdim=True) if len(self.identities) > 1 else weights
            parts.append((x.reshape(n, 1, sources, -1) * weights).view(n, width, h, w))
        if self.others:
            parts.append(self._per_edge(xs, next(scalars)))
        if not parts:  # every candidate is 'none'
            zero = self.candidates[0][0](xs[0])
            return zero.new_zeros(zero.shape[0], nodes, *zero.shape[1:])
        out = concat(parts, 1)
        return out.reshape(out.shape[0], -1, nodes, sources, channels, *out.shape[-2:]).sum((1, 3))

    def _stage(self, hx: torch.Tensor, chains: List[int], stage: int, width: int, scale: torch.Tensor
               ) -> torch.Tensor:
        """Depthwise convs (each over its own ``width`` channels of ``hx`` in stage 2), one grouped pointwise conv,
        one BN."""
        depthwise, pointwise = [], []
        inputs = hx.split(width, 1) if stage == 2 and len(chains) > 1 else [hx] * len(chains)
        for x, o in zip(inputs, chains):
            halves = [op[stage - 1] if self.kinds[o] == 'sep' else op for op in self.candidates[o]]
            geometry = depthwise_geometry(halves[0][1], x, width)
            depthwise.append(conv_with_geometry(x, concat([h[1].weight for h in halves]), None, geometry))
            pointwise += [h[2].weight for h in halves]
        z = F.conv2d(concat(depthwise, 1), concat(pointwise), None, 1, 0, 1, len(chains) * len(self.edges))
        return batched_batch_norm(z, [bn for o in chains for bn in self._bns(o, stage)], scale)

    def _factorized(self, o: int, hx: torch.Tensor, channels: int, scale: torch.Tensor) -> torch.Tensor:
        """The reduce skips of every edge: their convs as grouped convs over the edges' activated sources."""
        ops = self.candidates[o]
        n, num_edges = hx.shape[0], len(self.edges)
        first = F.conv2d(hx, concat([op.conv1.weight for op in ops]), None, 2, 0, 1, num_edges)
        second = F.conv2d(ops[0].offset_grid(hx), concat([op.conv2.weight for op in ops]), None, 1, 0, 1, num_edges)
        h, w = first.shape[-2:]
        halves = [t.reshape(n, num_edges, 1, -1) for t in (first, second)]
        return batched_batch_norm(concat(halves, 2).view(n, num_edges * channels, h, w), [op.bn for op in ops], scale)

    def _per_edge(self, xs: Sequence[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        rows = weights.view(len(self.edges), len(self.others)).unbind(0)
        outs = []
        for e, row in enumerate(rows):
            x = xs[e % len(xs)]
            terms = [fused_candidate(self.candidates[o][e], x, wo, None) for o, wo in zip(self.others, row.unbind(0))]
            outs.append(sum(terms[1:], terms[0]))
        out = torch.stack(outs, 1)
        return out.view(out.shape[0], -1, *out.shape[-2:])


class BatchedCell:
    """A search cell's mixed edges computed wave by wave (:class:`EdgeWave`). Call with the two preprocessed inputs
    and the op weights ``(num_edges, num_ops)``; returns the nodes concatenated, as :class:`SearchCell` does. The
    weights every wave needs (BN scales repeated over channels, the identities' weights) are gathered from the
    weight table in two indexing calls for the whole cell."""

    def __init__(self, mixed_ops: Sequence[nn.Module], num_nodes: int, channels: int):
        self.num_nodes, self.channels = num_nodes, channels
        self.waves = [EdgeWave(sources, edges, mixed_ops) for sources, edges in edge_waves(num_nodes)]
        self.batch_norms = [bn for wave in self.waves for bn in wave.batch_norms()]
        num_ops = len(mixed_ops[0].ops)
        one = len(mixed_ops) * num_ops  # the constant 1 appended to the flattened weights

        def flat(pieces):
            return [[one if o == ONE else k * num_ops + o for k, o in piece] for piece in pieces]

        self._vector = flat(piece for wave in self.waves for piece in wave.vector_entries)
        self._scalar = flat(piece for wave in self.waves for piece in wave.scalar_entries)
        self._constants: Dict[Tuple[torch.device, torch.dtype], Tuple[torch.Tensor, ...]] = {}

    def usable(self) -> bool:
        """Whether the batched BNs can each run as one: the same eps, mode and a fixed momentum in the cell."""
        first = self.batch_norms[0] if self.batch_norms else None
        return all(bn.momentum is not None and bn.momentum == first.momentum and bn.eps == first.eps
                   and bn.training == first.training and bn.track_running_stats == first.track_running_stats
                   for bn in self.batch_norms)

    def _gathered(self, weights: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        key = (weights.device, weights.dtype)
        if key not in self._constants:
            vector = torch.tensor([i for piece in self._vector for i in piece], dtype=torch.long)
            scalar = torch.tensor([i for piece in self._scalar for i in piece], dtype=torch.long)
            self._constants[key] = (vector.repeat_interleave(self.channels).to(weights.device),
                                    scalar.to(weights.device), weights.new_ones(1))
        vector, scalar, one = self._constants[key]
        table = concat([weights.reshape(-1), one])
        vectors = table[vector].split([len(p) * self.channels for p in self._vector]) if self._vector else []
        scalars = table[scalar].split([len(p) for p in self._scalar]) if self._scalar else []
        return vectors, scalars

    def __call__(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        vectors, scalars = self._gathered(weights)
        vectors, scalars = iter(vectors), iter(scalars)
        states = [s0, s1]
        nodes = None  # the sums of the nodes not yet complete, (N, nodes left, C, H, W)
        for wave in self.waves:
            out = wave([states[j] for j in wave.sources], vectors, scalars)
            nodes = out if nodes is None else nodes[:, 1:] + out
            states.append(nodes[:, 0])
        return concat(states[2:], 1)
