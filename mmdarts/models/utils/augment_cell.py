"""The cell of a searched architecture, trained from scratch (Liu et al., 2019, Sec. 3.2), with drop path."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..ops import ActConvBN, FactorizedReduce, build_candidate_op


def drop_path(x: torch.Tensor, prob: float, training: bool) -> torch.Tensor:
    """Zeroes whole samples of ``x`` with probability ``prob`` and scales the rest by 1/(1-prob) (the paper's
    drop path, from FractalNet); the identity outside training or at ``prob == 0``."""
    if not training or prob <= 0.:
        return x
    keep = 1. - prob
    mask = x.new_empty((x.shape[0], ) + (1, ) * (x.dim() - 1)).bernoulli_(keep)
    return x * mask / keep


class AugmentCell(nn.Module):
    """A fixed cell built from one cell of a genotype: each node sums two ops on earlier states; the output
    concatenates the states in ``concat``. Drop path applies to every op but the identity.

    Args:
        edges (Sequence[tuple[str, int]]): ``(op, input_state)``, two per node.
        concat (Sequence[int]): the states concatenated into the output.
        edge_nodes (Sequence[int], optional): the node each edge feeds; defaults to two edges per node.
        prev_prev_channels, prev_channels (int): channels of the inputs c_{k-2}, c_{k-1}.
        channels (int): channels of every node.
        reduction (bool): whether the cell halves the spatial size.
        reduction_prev (bool): whether the previous cell did.
        act_cfg (dict): activation of the ops. Defaults to ReLU.
    """

    def __init__(self, edges: Sequence[Tuple[str, int]], concat: Sequence[int], prev_prev_channels: int,
                 prev_channels: int, channels: int, reduction: bool, reduction_prev: bool,
                 act_cfg: Optional[Dict] = dict(type='ReLU'), edge_nodes: Optional[Sequence[int]] = None):
        super().__init__()
        self.reduction = reduction
        self.concat = list(concat)
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(prev_prev_channels, channels, affine=True, act_cfg=act_cfg)
        else:
            self.preprocess0 = ActConvBN(prev_prev_channels, channels, 1, 1, 0, affine=True, act_cfg=act_cfg)
        self.preprocess1 = ActConvBN(prev_channels, channels, 1, 1, 0, affine=True, act_cfg=act_cfg)
        self.inputs = [j for _, j in edges]
        self.edge_nodes = list(edge_nodes) if edge_nodes is not None else [k // 2 for k in range(len(edges))]
        self.ops = nn.ModuleList(
            build_candidate_op(op, channels, 2 if reduction and j < 2 else 1, True, act_cfg) for op, j in edges)
        self.out_channels = channels * len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.) -> torch.Tensor:
        states: List[torch.Tensor] = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(max(self.edge_nodes) + 1):
            total = None
            for k in (k for k, n in enumerate(self.edge_nodes) if n == node):
                h = self.ops[k](states[self.inputs[k]])
                if not isinstance(self.ops[k], nn.Identity):
                    h = drop_path(h, drop_prob, self.training)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)
