"""PC-DARTS (Xu et al., ICLR 2020) at the level of a cell: partial channel connections and edge normalisation.

On an edge from state x_j, the first 1/K of x_j's channels go through the mixed op, the rest r_j bypass it
(max-pooled 2x2 on a reduction edge), the two are concatenated and the channels shuffled in K groups (PC-DARTS
Eq. 2); with edge normalisation each edge's output is scaled by its β_j (Eq. 4). Both are linear in the edges'
outputs, so a node is computed from two sums, concatenated and shuffled once:

    Σ_j β_j·shuffle(cat(ō_j(x_j[:C/K]), r_j)) = shuffle(cat(Σ_j ō'_j(x_j[:C/K]), Σ_j β_j·r_j)),

where ō'_j is the mixed op with op weights β_j·w_j (:func:`edge_scaled_weights`). Every way of computing the mixed
edges (:class:`~mmdarts.models.search.SearchCell`'s waves and its literal sum) therefore sums plain mixed ops over
the states' first C/K channels; :meth:`PartialChannels.complete` makes each node whole.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F


def edge_scaled_weights(weights: torch.Tensor, edge_weights: Optional[torch.Tensor]) -> torch.Tensor:
    """The op weights ``(edges, ops)`` with each edge's row scaled by its edge weight: β·Σ_o w_o·o(x) is
    Σ_o (β·w_o)·o(x)."""
    return weights if edge_weights is None else weights * edge_weights.unsqueeze(1)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleaves ``groups`` channel groups (ShuffleNet), as PC-DARTS does after a partial mix: of the channels
    of ``x``, ``(N, C, H, W)``, or of each copy's, ``(N, copies, C, H, W)``."""
    *lead, c, h, w = x.shape
    return x.view(*lead, groups, c // groups, h, w).transpose(-4, -3).reshape(x.shape)


def _per_copy(x: torch.Tensor, copies: int) -> torch.Tensor:
    """A state ``(N, copies·C, H, W)`` as ``(N, copies, C, H, W)`` (a view)."""
    n, c, h, w = x.shape
    return x.view(n, copies, c // copies, h, w)


class PartialChannels:
    """The partial channel connections of a cell with edges ``edges`` (``(node, state)`` pairs), K = ``partial``;
    ``reduction``: the edges from the cell's inputs have stride 2."""

    def __init__(self, partial: int, edges: Sequence[Tuple[int, int]], reduction: bool):
        self.partial = partial
        self.reduction = reduction
        self.edges_of = [[(k, j) for k, (node, j) in enumerate(edges) if node == i] for i in range(edges[-1][0] + 1)]

    def mixed_input(self, x: torch.Tensor, copies: int = 1) -> torch.Tensor:
        """The channels of the state ``x`` that go through the mixed ops (of each copy's channels, ``x`` holding
        ``copies`` side by side)."""
        return x if self.partial == 1 else self._part(x, copies, mixed=True)

    def _part(self, x: torch.Tensor, copies: int, mixed: bool) -> torch.Tensor:
        """Of each copy's channels of ``x``, the first 1/K (``mixed``) or the rest, ``(N, copies·C', H, W)``."""
        if copies == 1:
            split = x.shape[1] // self.partial
            return x[:, :split] if mixed else x[:, split:]
        per_copy = _per_copy(x, copies)
        split = per_copy.shape[2] // self.partial
        part = per_copy[:, :, :split] if mixed else per_copy[:, :, split:]
        return part.reshape(x.shape[0], -1, *x.shape[-2:])

    def complete(self, node: int, mixed: torch.Tensor, states: List[torch.Tensor],
                 edge_weights: Optional[torch.Tensor], copies: int = 1) -> torch.Tensor:
        """Node ``node`` from the sum of its mixed ops over the states' first channels (``mixed``) and the
        ``states`` before it: the bypassed channels summed (scaled by the edge weights), concatenated, shuffled.
        ``copies`` > 1: ``mixed`` and the returned node are ``(N, copies, C, H, W)``, the states
        ``(N, copies·C, H, W)``."""
        if self.partial == 1:
            return mixed
        rest = None
        for k, j in self.edges_of[node]:
            r = self._part(states[j], copies, mixed=False)
            r = F.max_pool2d(r, 2, 2) if self.reduction and j < 2 else r  # a reduction edge's stride
            r = r if edge_weights is None else edge_weights[k] * r
            rest = r if rest is None else rest + r
        if copies == 1:
            return channel_shuffle(torch.cat([mixed, rest], 1), self.partial)
        return channel_shuffle(torch.cat([mixed, _per_copy(rest, copies)], 2), self.partial)
