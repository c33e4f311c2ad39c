"""What a wave of a search cell's edges groups (:mod:`.batched_cell`; :mod:`.batched_edges` says what a wave
batches): the kind of each candidate, and the conv weights, BN groups and op-weight entries each computation of
:class:`~.edge_wave.EdgeWave` reads, with the names their banks take (:mod:`.edge_banks`)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..ops import DilConv, FactorizedReduce, SepConv
from .batched_convs import depthwise_runs, kernel_mask, merged_geometry
from .batched_edges import ONE, candidate_kind
from .candidate_parts import foldable_batch_norm, leaf, shareable_activation
from .generic_edges import GenericColumn, alike


class WaveGroups:
    """The groups of the wave of edges ``edges`` (cell edge indices, ordered (node, source)) leaving the states
    ``sources``: :attr:`weight_groups` (group name: the modules whose weights it concatenates), :attr:`norm_groups`
    (group name: the BNs it runs as one), :attr:`vector_entries` and :attr:`scalar_entries` (the op weights each
    computation scales by, as (edge, candidate) pairs), and each depthwise group's geometry and kernel mask.

    ``per_edge`` (:attr:`split`): the grouping of a wave of one edge (a cell stored per edge), each conv candidate
    and each pool its own part, no kernel padded, a conv whose stride equals its dilation undilated on the
    subsampled input: the kernels the CPU runs fastest, and the fewest stored activations."""

    def __init__(self, sources: Sequence[int], edges: Sequence[int], mixed_ops: Sequence[nn.Module], prefix: str,
                 per_edge: bool):
        self.sources, self.edges, self.prefix, self.split = list(sources), list(edges), prefix, per_edge
        self.banks: Optional[nn.Module] = None
        ops = [mixed_ops[k] for k in edges]
        self.candidates = [[op.ops[o] for op in ops] for o in range(len(ops[0].ops))]
        key = next((shareable_activation(c[0]) for c in self.candidates
                    if isinstance(c[0], (DilConv, SepConv, FactorizedReduce)) and shareable_activation(c[0])), None)
        self.kinds = []
        for column in self.candidates:
            found = {candidate_kind(op, key) for op in column}
            self.kinds.append(found.pop() if len(found) == 1 and alike(column) else 'generic')
        of = lambda kind: [o for o, k in enumerate(self.kinds) if k == kind]
        self.sep, self.dil, self.pools, self.identities = of('sep'), of('dil'), of('pool'), of('identity')
        self.factorized = of('factorized')
        # generic candidates alike on every edge run as one; any other sends the cell to the literal sum (usable())
        self.unbatchable = [o for o in of('generic') if not alike(self.candidates[o])]
        self.generic = {o: GenericColumn(o, self.candidates[o], key) for o in of('generic')
                        if o not in self.unbatchable}
        self.chains = self.sep + self.dil
        activated = self.chains + self.factorized + [o for o, g in self.generic.items() if g.skip_first]
        self.act = leaf(self.candidates[activated[0]][0]) if activated else None
        each_edge = lambda o: [(k, o) for k in self.edges]
        # BN scales: of each part of the chains, stage 1 (1 for a separable conv's middle BN) and stage 2 of its
        # separable convs; the pools, the reduce skips
        self.vector_entries = []
        for chains in self._parts(self.chains):
            self.vector_entries.append([(k, ONE if o in self.sep else o) for o in chains for k in self.edges])
            self.vector_entries.append([e for o in chains if o in self.sep for e in each_edge(o)])
        self.vector_entries += [[e for o in pools for e in each_edge(o)] for pools in self._parts(self.pools)]
        self.vector_entries += [each_edge(o) for o in self.factorized]
        # one identity: a 1x1 depthwise conv of the repeated sources with its weights; several: their sum, per edge
        self.vector_entries += [each_edge(o) for o in self.identities] if len(self.identities) == 1 else []
        self.vector_entries += [each_edge(o) for o, g in self.generic.items() if g.folded]
        self.vector_entries = [entries for entries in self.vector_entries if entries]
        self.scalar_entries = ([[(k, o) for k in self.edges for o in self.identities]]
                               if len(self.identities) > 1 else [])
        self.scalar_entries += [each_edge(o) for o, g in self.generic.items() if not g.folded]
        # the depthwise convs of each stage that run as one (stage 2 only: in stage 1 they share their input)
        merged = depthwise_runs([self._halves(o, 2)[0][1] for o in self.sep]) if not self.split else []
        self.runs = {1: [[o] for o in self.chains],
                     2: [[self.sep[i] for i in run] for run in merged] if not self.split else [[o] for o in self.sep]}
        self.weight_groups = dict(self._weight_groups())
        self.group_attrs = {group: attr for g in self.generic.values() for group, (attr, _) in g.weight_groups.items()}
        self.norm_groups = dict(self._norm_groups())
        self.geometry, self.masks = {}, {}  # per depthwise group: (stride, padding, dilation), kernel size; the mask
        for stage, runs in self.runs.items():
            for run in runs:
                name = self._dw(stage, run)
                self.geometry[name], size = merged_geometry([self._halves(o, stage)[0][1] for o in run], self.split)
                self.masks[name] = kernel_mask([(m.weight.shape[0], m.kernel_size)
                                                for m in self.weight_groups[name]], size)
        self._mask_cache: Dict[Tuple[str, torch.device, torch.dtype, int], torch.Tensor] = {}

    def _halves(self, o: int, stage: int) -> List[nn.Module]:
        """Each edge's DilConv of candidate ``o`` at ``stage`` (a SepConv's half, or the DilConv itself)."""
        return [op[stage - 1] if self.kinds[o] == 'sep' else op for op in self.candidates[o]]

    @staticmethod
    def _dw(stage: int, run: List[int]) -> str:
        """The group name of the depthwise convs of candidates ``run`` at ``stage``, e.g. ``dw2_4_5``."""
        return f'dw{stage}_' + '_'.join(map(str, run))

    def _parts(self, candidates: List[int]) -> List[List[int]]:
        """The candidates computed together: all of them as one part, or (:attr:`split`) each its own."""
        return [[o] for o in candidates] if self.split else [candidates] if candidates else []

    def _named(self, group: str, candidates: List[int]) -> str:
        """The name of group ``pw{stage}``, ``bn{stage}`` or ``pool`` of ``candidates`` (split: e.g. ``bn1_4``)."""
        return f'{group}_{candidates[0]}' if self.split else group

    def _weight_groups(self) -> List[Tuple[str, List[nn.Module]]]:
        """(group name, the modules whose weights it concatenates, in order) of every batched conv."""
        groups = []
        for stage in (1, 2):
            groups += [(self._dw(stage, run), [h[1] for o in run for h in self._halves(o, stage)])
                       for run in self.runs[stage]]
            groups += [(self._named(f'pw{stage}', chains), [h[2] for o in chains for h in self._halves(o, stage)])
                       for chains in self._parts(self.chains if stage == 1 else self.sep)]
        for o in self.factorized:
            groups += [(f'fr1_{o}', [op.conv1 for op in self.candidates[o]]),
                       (f'fr2_{o}', [op.conv2 for op in self.candidates[o]])]
        groups += [(group, modules) for g in self.generic.values() for group, (_, modules) in g.weight_groups.items()]
        return groups

    def _norm_groups(self) -> List[Tuple[str, List[nn.BatchNorm2d]]]:
        """(group name, the BNs it runs as one, in channel order) of every batched BN."""
        groups = [(self._named(f'bn{stage}', chains), [h[3] for o in chains for h in self._halves(o, stage)])
                  for stage in (1, 2) for chains in self._parts(self.chains if stage == 1 else self.sep)]
        groups += [(self._named('pool', chosen), [foldable_batch_norm(op) for o in chosen for op in self.candidates[o]])
                   for chosen in self._parts(self.pools)]
        groups += [(f'frbn_{o}', [op.bn for op in self.candidates[o]]) for o in self.factorized]
        groups += [group for g in self.generic.values() for group in g.norm_groups.items()]
        return groups
