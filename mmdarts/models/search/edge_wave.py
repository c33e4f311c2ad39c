from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..functional.depthwise_pointwise import depthwises_pointwise
from ..functional.gradients import InputSavingReLU, accumulated, concat, dense_gradient, sum_of_all
from ..functional.modes import autocast_dtype
from ..ops import even_grid_conv, norm_arguments
from .batched_edges import (
    batched_batch_norm,
    channels_last,
    pixels_channels,
    repeated_per_edge,
)
from .candidate_parts import recomputed_pool_batch_norm
from .wave_groups import WaveGroups


class EdgeWave(WaveGroups):
    """The edges of a :class:`WaveGroups` (edges leaving the same states) computed together: one wave of
    :mod:`.batched_cell` (:mod:`.batched_edges` says what a wave batches). Call with the source states, an iterator
    over the wave's channel scales (in the order of :attr:`vector_entries`) and one over its other op weights
    (:attr:`scalar_entries`); returns what the wave adds to each node it reaches, ``(N, nodes, C, H, W)``.

    Its conv weights and BN statistics are read from ``banks`` (:mod:`.edge_banks`: one tensor per group, named
    ``{prefix}{group}``) once the cell stores them so, else gathered from the edges' modules at every forward.
    With :attr:`split` (the per-edge plan) each candidate runs as its own part: dense pointwise convs, BNs on their
    own, nothing concatenated; on one edge, the pools recomputed in the backward and a separable conv's middle
    BN and ReLU inside its second stage's function."""

    def _weight(self, group: str, copies: int, blocks: int = 1) -> torch.Tensor:
        """The group's weights as one tensor; a merged depthwise group's kernels padded to one size (a bank's
        padding masked: whatever is stored there, it computes nothing and receives no gradient).

        ``copies`` > 1 (a twin pass, :mod:`.twin_pass`): the bank holds the copies' weights one after the other;
        a group of ``blocks`` candidates is returned ordered (candidate, copy, edge), as its input channels are."""
        if self.banks is None:  # the per-edge plan: no kernel merged, nothing padded
            return concat([getattr(m, self.group_attrs.get(group, 'weight')) for m in self.weight_groups[group]])
        mask, weight = self.masks.get(group), getattr(self.banks, self.prefix + group)
        if mask is not None:
            key = (group, weight.device, weight.dtype, copies)
            if key not in self._mask_cache:  # the mask of every copy
                self._mask_cache[key] = mask.to(weight.device, weight.dtype).repeat(copies, 1, 1, 1)
            weight = weight * self._mask_cache[key]
        if copies > 1 and blocks > 1:  # (copy, candidate, edge) -> (candidate, copy, edge): one split, one cat
            pieces = weight.split(weight.shape[0] // (copies * blocks))
            weight = torch.cat([pieces[c * blocks + b] for b in range(blocks) for c in range(copies)])
        return weight

    def _norm(self, z: torch.Tensor, group: str, scale: torch.Tensor) -> torch.Tensor:
        stats = None
        if self.banks is not None and hasattr(self.banks, f'{self.prefix}{group}_mean'):
            stats = tuple(getattr(self.banks, f'{self.prefix}{group}_{part}') for part in ('mean', 'var', 'count'))
        out = batched_batch_norm(z, self.norm_groups[group], scale, stats)
        # its gradient comes as a slice of the wave's concatenation: dense again (BN's CPU backward is many times
        # slower on a channels-last slice); a part of the per-edge plan gets it dense from its edge's sum
        return dense_gradient(out) if channels_last(z) and not self.split else out

    def __call__(self, xs: Sequence[torch.Tensor], vectors, scalars, copies: int,
                 activated: Dict[tuple, torch.Tensor]) -> torch.Tensor:
        """``copies`` > 1: a twin pass (:mod:`.twin_pass`), every state holding the copies' channels one after the
        other, ``(N, copies·C, H, W)``; returns ``(N, copies, nodes, C, H, W)``. ``activated``: the shared
        activations of the sources computed so far, by sources and activation (waves of the same sources share
        them)."""
        sources, num_edges = len(xs), len(self.edges)
        if copies == 1 and sources > 1 and any(channels_last(s) for s in xs):  # one layout, the CPU's
            xs = [s.contiguous(memory_format=torch.channels_last) for s in xs]
        if copies == 1 or sources == 1:
            x = concat(xs, 1)
        else:  # channels ordered (copy, source, channel)
            n, _, h, w = xs[0].shape
            x = torch.stack([s.view(n, copies, -1, h, w) for s in xs], 2).view(n, -1, h, w)
        nodes, channels = num_edges // sources, x.shape[1] // (sources * copies)
        width = copies * num_edges * channels
        parts = []  # (N, copies·E·C, H, W) each, channels ordered (copy, edge, channel), the op weights applied
        if self.act is not None:
            key = (tuple(self.sources), repr(self.act))
            if key not in activated:  # a plain ReLU through InputSavingReLU where a gradient flows
                saving = type(self.act) is nn.ReLU and torch.is_grad_enabled() and x.requires_grad
                activated[key] = InputSavingReLU.apply(x) if saving else self.act(x)
            hx = repeated_per_edge(activated[key], nodes, copies)  # the activated sources of every edge
        for chains in self._parts(self.chains):  # stage 1 of the chains, then stage 2 of the separable ones
            sep, dil = [o for o in chains if o in self.sep], [o for o in chains if o not in self.sep]
            norm = self._middle_norm(chains[0]) if self.split and sep else None  # split: one edge, one candidate
            y = self._stage(hx, chains, 1, width, next(vectors), copies, normed=norm is None)
            if norm is not None:  # the middle BN and ReLU inside stage 2's function, which keeps the BN's output
                parts.append(self._stage(y, chains, 2, width, next(vectors), copies, norm=norm))
                continue
            if sep:
                # one split, not two slices (each a slice_backward and an add on the way back)
                first, rest = y.split([len(sep) * width, len(dil) * width], 1) if dil else (y, None)
                if dil and channels_last(y):  # a slice of channels: dense again for the CPU's convs
                    first = first.contiguous(memory_format=torch.channels_last)
                # the activation between the stages; a ReLU runs inside stage 2's function, which keeps its output
                act = self.candidates[sep[0]][0][1][0]
                relu = type(act) is nn.ReLU
                parts.append(self._stage(first if relu else act(first), sep, 2, width, next(vectors), copies, relu))
                y = rest  # the stage-2 outputs, then the dil convs': the order of the chains
            if y is not None:
                parts.append(y)
        parts += [self._pool(pools, x, nodes, copies, next(vectors)) for pools in self._parts(self.pools)]
        parts += [self._factorized(o, hx, channels, next(vectors), copies) for o in self.factorized]
        if len(self.identities) == 1:  # one call forward, one backward for x and the weights
            scale, repeated = next(vectors), repeated_per_edge(x, nodes, copies)
            if autocast_dtype(x) is None and not self.split:
                parts.append(F.conv2d(repeated, scale.view(-1, 1, 1, 1), None, 1, 0, 1, scale.shape[0]))
            else:  # a product (the per-edge plan's; under autocast the conv would run in half precision)
                parts.append(repeated * scale.view(-1, 1, 1))
        elif self.identities:
            n, _, h, w = x.shape
            weights = next(scalars).view(nodes, sources, len(self.identities)).sum(-1, keepdim=True)
            if copies == 1 and channels_last(x):
                y = pixels_channels(x).reshape(n, h, w, 1, sources, -1) * weights
                parts.append(y.view(n, h, w, width).permute(0, 3, 1, 2))
            else:
                parts.append((x.reshape(n, copies, 1, sources, -1) * weights).view(n, width, h, w))
        for o, generic in self.generic.items():
            source = hx if generic.skip_first else repeated_per_edge(x, nodes, copies)
            y = generic(source, lambda group: self._weight(group, copies), lambda z, group: self._norm(z, group, None),
                        copies)
            if generic.folded:
                parts.append(self._norm(y, f'gen{o}', next(vectors)))
            else:
                scale = next(scalars).repeat(copies)
                parts.append((y.view(y.shape[0], scale.shape[0], -1, *y.shape[-2:]) * scale.view(-1, 1, 1, 1))
                             .view(y.shape))
        if not parts:  # every candidate is 'none'
            zero = self.candidates[0][0](xs[0][:, :channels])
            return zero.new_zeros(zero.shape[0], *([copies] if copies > 1 else []), nodes, *zero.shape[1:])
        if self.split and len(self.edges) == 1:  # one edge (the per-edge plan): its parts added, in their layout
            # its gradient comes as a slice of the cell's concatenation: dense again, once for all its BNs (BN's CPU
            # backward is many times slower on a slice)
            return dense_gradient(accumulated(parts)).unsqueeze(1)
        if copies == 1 and channels_last(x):
            # each part summed on its own (a concatenation of channels-last tensors gathers every pixel's channels);
            # each node dense channels-last: (nodes, N, H, W, C) in memory
            parts = [p if p.stride(1) == 1 else p.contiguous(memory_format=torch.channels_last) for p in parts]
            n, _, h, w = parts[0].shape
            sums = [pixels_channels(p).reshape(n, h, w, -1, nodes, sources, channels).sum((3, 5)) for p in parts]
            return sum_of_all(sums).permute(3, 0, 1, 2, 4).contiguous().permute(1, 0, 4, 2, 3)
        out = concat(parts, 1)
        if copies == 1:
            return out.reshape(out.shape[0], -1, nodes, sources, channels, *out.shape[-2:]).sum((1, 3))
        return out.reshape(out.shape[0], -1, copies, nodes, sources, channels, *out.shape[-2:]).sum((1, 4))

    def _pool(self, pools: List[int], x: torch.Tensor, nodes: int, copies: int, scale: torch.Tensor
              ) -> torch.Tensor:
        """The pool candidates ``pools`` of the wave's edges, their BNs as one scaled by ``scale``; one pool's one
        BN in training with a gradient wanted, outside tracing (tracers see torch's ops), recomputes the pool in the
        backward instead of storing it (:func:`~.candidate_parts.recomputed_pool_batch_norm`)."""
        bns = self.norm_groups[self._named('pool', pools)]
        wanted = torch.is_grad_enabled() and not torch.jit.is_tracing() and (x.requires_grad or scale.requires_grad)
        if self.split and bns[0].training and wanted:
            return recomputed_pool_batch_norm(self.candidates[pools[0]][0][0], bns[0], x, scale)
        pooled = concat([repeated_per_edge(self.candidates[o][0][0](x), nodes, copies) for o in pools], 1)
        return self._norm(pooled, self._named('pool', pools), scale)

    def _middle_norm(self, o: int) -> Optional[tuple]:
        """(running mean, running var, momentum, eps) of separable conv ``o``'s middle BN, this batch counted,
        where that BN and the ReLU after it can run inside stage 2's function (a wave of :attr:`split` with one
        edge, training, a ReLU between the stages), else None."""
        bn = self.norm_groups[self._named('bn1', [o])][0]
        return norm_arguments(bn) if bn.training and type(self.candidates[o][0][1][0]) is nn.ReLU else None

    def _stage(self, hx: torch.Tensor, chains: List[int], stage: int, width: int, scale: torch.Tensor,
               copies: int, relu: bool = False, normed: bool = True, norm: Optional[tuple] = None
               ) -> torch.Tensor:
        """The stage's depthwise convs of ``chains`` (in stage 2 each run over its own chains' channels of
        ``hx``), one grouped pointwise conv (the depthwise outputs recomputed for its weight gradient, not stored),
        one BN (not where ``normed`` is False). ``norm``: ``hx`` first through that BN and a ReLU
        (:class:`~mmdarts.models.functional.depthwise_pointwise.DepthwisesPointwise`)."""
        runs = [run for run in self.runs[stage] if run[0] in chains]
        names = [self._dw(stage, run) for run in runs]
        widths = [len(run) * width for run in runs] if stage == 2 and len(runs) > 1 else None
        depthwise = [self._weight(name, copies, len(run) if stage == 2 else 1) for name, run in zip(names, runs)]
        z = depthwises_pointwise(hx, depthwise, self._weight(self._named(f'pw{stage}', chains), copies, len(chains)),
                                 [self.geometry[name] for name in names], widths,
                                 copies * len(chains) * len(self.edges), relu, norm)
        return self._norm(z, self._named(f'bn{stage}', chains), scale) if normed else z

    def _factorized(self, o: int, hx: torch.Tensor, channels: int, scale: torch.Tensor, copies: int) -> torch.Tensor:
        """The reduce skips of every edge: their convs as grouped convs over the edges' activated sources."""
        n, groups = hx.shape[0], copies * len(self.edges)
        first = even_grid_conv(hx, self._weight(f'fr1_{o}', copies), groups)
        second = F.conv2d(self.candidates[o][0].offset_grid(hx), self._weight(f'fr2_{o}', copies), None, 1, 0, 1,
                          groups)
        h, w = first.shape[-2:]
        if channels_last(hx):  # each edge's channels: its conv1's, then its conv2's
            halves = [pixels_channels(t.contiguous(memory_format=torch.channels_last)).reshape(n, h, w, groups, 1, -1)
                      for t in (first, second)]
            z = concat(halves, 4).view(n, h, w, groups * channels).permute(0, 3, 1, 2)
        else:
            halves = [t.reshape(n, groups, 1, -1) for t in (first, second)]
            z = concat(halves, 2).view(n, groups * channels, h, w)
        return self._norm(z, f'frbn_{o}', scale)
