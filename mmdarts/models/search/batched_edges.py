"""The edges that leave the same states, computed together: fewer, larger kernels, the same numbers.

A search cell's edges run in waves: first every edge from the cell's two inputs, then, each time a node is complete,
the edges leaving it. Within a wave each kind of candidate runs once for all its edges:

- conv candidates (:class:`DilConv`, :class:`SepConv`): the shared activation of the sources once, repeated per
  edge; each depthwise conv as one grouped conv over all edges; the pointwise convs of every (candidate, edge) pair
  as one grouped 1x1 conv; their BNs as one BN over the concatenated channels, whose affine scale is 1 for a
  separable conv's middle BN and the op weight for a final BN (w·BN(x) folded, as in :mod:`.candidate_parts`);
- pools: each pool once over the sources, repeated per edge, their BNs as one (scaled by the op weights);
- :class:`FactorizedReduce` (the reduce skip): its two 1x1 convs as two grouped convs over the sources, its BN as one;
- the identity: the sources times the op weights, in one product.

Any other candidate is a generic module, run once for all the wave's edges (:mod:`.generic_edges`: its convs
grouped by edge, its final BN scaled by the op weights). Then one sum over candidates and sources gives each node's
share of the wave. Weights are concatenated at every forward (so ``functional_call``'s virtual weights go
through); BN running statistics are gathered and written back, only where they are tracked. The result equals the
literal sum of :class:`~mmdarts.models.search.MixedOp` (tests: float64, every gradient and statistic).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmdarts.structures import cell_edges

from ..functional.gradients import concat
from ..functional.modes import memory_layout
from ..ops import DilConv, FactorizedReduce, SepConv, Zero
from ..ops.recomputed_conv import add_batch_counts, plain_depthwise, plain_pointwise
from .candidate_parts import foldable_batch_norm, recomputable_prefix, shareable_activation

ONE = -1  # a scale entry that is the constant 1 (a separable conv's middle BN), not an op weight


def edge_waves(num_nodes: int, single: bool = False) -> List[Tuple[List[int], List[int]]]:
    """``(source states, cell edge indices)`` of each wave: the edges from the two inputs, ordered (node, input),
    then for each node but the last the edges leaving it, ordered by node. Edge indices follow :func:`cell_edges`.
    Within a wave the edges are ordered (node, source), so one ``repeat`` of the sources feeds them all.
    ``single``: each edge a wave of its own, in :func:`cell_edges` order (the CPU's: its kernels run fastest on
    one edge's tensors, which stay in its caches)."""
    if single:
        return [([j], [k]) for k, (_, j) in enumerate(cell_edges(num_nodes))]
    index = {edge: k for k, edge in enumerate(cell_edges(num_nodes))}
    waves = [([0, 1], [index[(node, j)] for node in range(num_nodes) for j in (0, 1)])]
    for t in range(1, num_nodes):
        waves.append(([t + 1], [index[(node, t + 1)] for node in range(t, num_nodes)]))
    return waves


def _plain_dil_conv(op: nn.Module, key: str) -> bool:
    return (type(op) is DilConv and shareable_activation(op) == key and plain_depthwise(op[1])
            and plain_pointwise(op[2]) and foldable_batch_norm(op) is not None)


def candidate_kind(op: nn.Module, key: Optional[str]) -> str:
    """How a wave computes this candidate: ``'zero'``, ``'identity'``, ``'pool'``, ``'dil'``, ``'sep'``,
    ``'factorized'``, or ``'generic'`` (any other module, :mod:`.generic_edges`). ``key``: the activation the wave
    shares."""
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
            and plain_pointwise(op.conv1, (2, 2)) and plain_pointwise(op.conv2) and foldable_batch_norm(op)):
        return 'factorized'
    return 'generic'


def batched_batch_norm(z: torch.Tensor, bns: Sequence[nn.BatchNorm2d], scale: Optional[torch.Tensor],
                       stats: Optional[Tuple[torch.Tensor, ...]] = None) -> torch.Tensor:
    """The affine-free BNs ``bns`` (each over its own consecutive channels of ``z``, all in the same mode) as one BN
    with affine scale ``scale``, normalising and updating running statistics as each would its own: ``stats``,
    their (mean, var, count) stored together (:mod:`.edge_banks`), or gathered from the BNs into one tensor and
    written back. ``native_batch_norm`` itself: ``F.batch_norm`` adds an allocation call."""
    first = bns[0]
    if first.training and first.track_running_stats:  # this batch counted by each BN, as its own forward would
        add_batch_counts([stats[2]] if stats is not None else [bn.num_batches_tracked for bn in bns])
    use_running = not first.training or first.track_running_stats
    if not use_running or (stats is None and first.running_mean is None):
        return torch.native_batch_norm(z, scale, None, None, None, True, 0.0, first.eps)[0]
    gathered = None
    if stats is not None:
        mean, var = stats[0], stats[1]
    else:
        means, variances = [bn.running_mean for bn in bns], [bn.running_var for bn in bns]
        gathered = concat(means + variances)
        mean, var = gathered.split(z.shape[1])
    out = torch.native_batch_norm(z, scale, None, mean, var, first.training, first.momentum, first.eps)[0]
    if gathered is not None and first.training:  # the update went to the gathered copy
        torch._foreach_copy_(means + variances, gathered.split(first.num_features))
    return out


def channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` is dense channels-last (the CPU's layout, ``Darts.memory_format``): a wave then keeps its
    tensors so, where its convs run several times faster than on contiguous ones."""
    return memory_layout(x) == torch.channels_last


def pixels_channels(x: torch.Tensor) -> torch.Tensor:
    """A channels-last ``(N, C, H, W)`` as the contiguous ``(N, H, W, C)`` it is in memory (a view)."""
    return x.permute(0, 2, 3, 1)


def repeated_per_edge(x: torch.Tensor, nodes: int, copies: int) -> torch.Tensor:
    """The sources ``x`` (channels (copy, source, channel)) repeated for each node: (copy, node, source, channel),
    the order of the wave's edges within each copy; channels-last where ``x`` is."""
    if copies == 1 and channels_last(x):
        n, c, h, w = x.shape
        return pixels_channels(x).unsqueeze(3).expand(n, h, w, nodes, c).reshape(n, h, w, nodes * c).permute(0, 3, 1, 2)
    if copies == 1:
        return x.repeat(1, nodes, 1, 1)
    n, _, h, w = x.shape
    return x.view(n, copies, 1, -1, h, w).repeat(1, 1, nodes, 1, 1, 1).view(n, -1, h, w)


def first_node(nodes: torch.Tensor, dim: int) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The first node of ``nodes`` along ``dim`` (that dimension dropped) and the others, by one ``split`` (whose
    backward is one concatenation, where a select and a slice each zero-fill a copy and an add joins them)."""
    if nodes.shape[dim] == 1:
        return nodes.squeeze(dim), None
    first, rest = nodes.split([1, nodes.shape[dim] - 1], dim)
    return first.squeeze(dim), rest
