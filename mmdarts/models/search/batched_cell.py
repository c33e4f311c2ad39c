from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmdarts.structures import cell_edges

from ..functional.gradients import concat
from .batched_edges import ONE, edge_waves, first_node
from .edge_wave import EdgeWave
from .partial_channels import PartialChannels


class BatchedCell:
    """A search cell's mixed edges computed wave by wave (:class:`EdgeWave`; :mod:`.batched_edges` says what a wave
    batches). Call with the two preprocessed inputs and the op weights ``(num_edges, num_ops)``; returns the nodes
    concatenated, as :class:`SearchCell` does. The weights every wave needs (BN scales repeated over channels, the
    identities' weights) are gathered from the weight table in two indexing calls for the whole cell."""

    def __init__(self, mixed_ops: Sequence[nn.Module], num_nodes: int, channels: int, per_edge: bool = False):
        self.num_nodes, self.channels, self.per_edge = num_nodes, channels, per_edge
        groups = edge_waves(num_nodes, single=per_edge)
        self.waves = [EdgeWave(sources, edges, mixed_ops, f'w{t}_', per_edge)
                      for t, (sources, edges) in enumerate(groups)]
        # whether each wave is the last to reach the first node it reaches (that node is then complete)
        first_nodes = [cell_edges(num_nodes)[edges[0]][0] for _, edges in groups]
        self._completes = [node not in first_nodes[t + 1:] for t, node in enumerate(first_nodes)]
        self.batch_norms = [bn for wave in self.waves for bns in wave.norm_groups.values() for bn in bns]
        # a SyncBatchNorm synchronises its statistics in its own forward, which the waves do not run
        self.synced = any(isinstance(m, nn.SyncBatchNorm) for op in mixed_ops for m in op.modules())
        num_ops = len(mixed_ops[0].ops)
        one = len(mixed_ops) * num_ops  # the constant 1 appended to the flattened weights

        def flat(pieces):
            return [[one if o == ONE else k * num_ops + o for k, o in piece] for piece in pieces]

        self._vector = flat(piece for wave in self.waves for piece in wave.vector_entries)
        self._blocks = [len(wave.edges) for wave in self.waves for _ in wave.vector_entries]  # edges per candidate
        self._scalar = flat(piece for wave in self.waves for piece in wave.scalar_entries)
        self._constants: Dict[Tuple[torch.device, torch.dtype, int], tuple] = {}  # by (device, dtype, copies)
        # where each wave's first BN and first conv sit: a module replaced there (SyncBN conversion) is noticed
        parents = {id(child): (module, name) for module in nn.ModuleList(mixed_ops).modules()
                   for name, child in module.named_children()}
        anchors = [bns[0] for wave in self.waves for bns in list(wave.norm_groups.values())[:1]]
        anchors += [group[0] for wave in self.waves for group in list(wave.weight_groups.values())[:1]]
        self._anchors = [(*parents[id(m)], m) for m in anchors if id(m) in parents]

    def in_place(self) -> bool:
        """Whether the modules the plan computes with are still the cell's (none replaced since)."""
        return all(getattr(parent, name, None) is module for parent, name, module in self._anchors)

    def usable(self) -> bool:
        """Whether every candidate has a batched form (:attr:`EdgeWave.unbatchable`: generic modules not alike on
        every edge), no BN is a SyncBatchNorm, and the batched BNs can each run as one: the same eps, mode and a
        fixed momentum in the cell."""
        if self.synced or any(wave.unbatchable for wave in self.waves):
            return False
        first = self.batch_norms[0] if self.batch_norms else None
        return all(bn.momentum is not None and bn.momentum == first.momentum and bn.eps == first.eps
                   and bn.training == first.training and bn.track_running_stats == first.track_running_stats
                   for bn in self.batch_norms)

    def _gathered(self, weights: torch.Tensor, copies: int) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """The channel scales of each wave (entries ordered (candidate, copy, edge)) and its other op weights."""
        key = (weights.device, weights.dtype, copies)
        if key not in self._constants:
            pieces = [[i for start in range(0, len(piece), block) for _ in range(copies)
                       for i in piece[start:start + block]] for piece, block in zip(self._vector, self._blocks)]
            vector = torch.tensor([i for piece in pieces for i in piece], dtype=torch.long)
            scalar = torch.tensor([i for piece in self._scalar for i in piece], dtype=torch.long)
            self._constants[key] = (vector.repeat_interleave(self.channels).to(weights.device),
                                    scalar.to(weights.device), weights.new_ones(1),
                                    [len(p) * self.channels for p in pieces])
        vector, scalar, one, sizes = self._constants[key]
        table = concat([weights.reshape(-1), one])
        vectors = table[vector].split(sizes) if sizes else []
        scalars = table[scalar].split([len(p) for p in self._scalar]) if self._scalar else []
        return vectors, scalars

    def __call__(self, states: List[torch.Tensor], weights: torch.Tensor, copies: int, partial: PartialChannels,
                 edge_weights: Optional[torch.Tensor]) -> torch.Tensor:
        """``states``: the two preprocessed inputs (the list grows by the nodes). ``copies`` > 1: a twin pass
        (:mod:`.twin_pass`), the inputs and the output holding the copies' channels one after the other (the
        output's ordered (copy, node, channel)). ``partial``, ``edge_weights``: what the mixed ops read of a state
        and how a node is made of their sum (both the identity but for PC-DARTS, :mod:`.partial_channels`, copy by
        copy)."""
        vectors, scalars = self._gathered(weights, copies)
        vectors, scalars = iter(vectors), iter(scalars)
        inputs, complete_nodes = [partial.mixed_input(s, copies) for s in states], []
        node_dim = 1 if copies == 1 else 2  # a wave's output: (N, nodes, C, H, W) or (N, copies, nodes, C, H, W)
        nodes = None  # the sums of the nodes not yet complete
        activated: Dict[tuple, torch.Tensor] = {}
        for wave, completes in zip(self.waves, self._completes):
            out = wave([inputs[j] for j in wave.sources], vectors, scalars, copies, activated)
            nodes = out if nodes is None else nodes + out
            if not completes:
                continue
            done, nodes = first_node(nodes, node_dim)
            done = partial.complete(len(complete_nodes), done, states, edge_weights, copies)
            complete_nodes.append(done)
            if len(complete_nodes) < self.num_nodes:  # a source of the waves to come, (N, copies·C, H, W)
                states.append(done if copies == 1 else done.reshape(done.shape[0], -1, *done.shape[-2:]))
                inputs.append(partial.mixed_input(states[-1], copies))
        if copies == 1:
            return concat(complete_nodes, 1)
        return torch.stack(complete_nodes, 2).view(complete_nodes[0].shape[0], -1, *complete_nodes[0].shape[-2:])
