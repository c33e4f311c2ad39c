from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmdarts.registry import MODELS
from mmdarts.structures import load_genotype

from ..utils import AugmentCell, check_input_size
from ..utils.network_checks import cell_channels, check_ints, check_out_indices, constructor_arguments, reduction_layers

STEMS = ('cifar', 'imagenet')


def auxiliary_index(num_layers: int) -> int:
    """The cell whose output feeds the auxiliary tower: at 2/3 of the depth (Liu et al., 2019, Sec. 3.2)."""
    return 2 * num_layers // 3


@MODELS.register_module()
class DartsNet(BaseModule):
    """A searched DARTS architecture trained from scratch (Liu et al., 2019, Sec. 3.2): ``num_layers`` cells of a
    genotype, reduction cells at 1/3 and 2/3 of the depth, affine BatchNorm, drop path inside the cells.

    Args:
        genotype (str | dict | Genotype): a genotype JSON written by a search, a Genotype (or its dict), or a
            published name: ``'DARTS_V1'``, ``'DARTS_V2'``. Defaults to ``'DARTS_V2'``.
        base_channels (int): node channels of the first cells, doubled at each reduction. Defaults to 36.
        num_layers (int): cells. Defaults to 20.
        stem (str): ``'cifar'`` (one 3x3 conv of ``stem_multiplier * base_channels``) or ``'imagenet'`` (the
            paper's mobile setting: two stride-2 stems, 1/8 resolution). Defaults to ``'cifar'``.
        stem_multiplier (int): for the CIFAR stem. Defaults to 3.
        in_channels (int): image channels. Defaults to 3.
        drop_path_prob (float): drop path probability at full schedule; :class:`DropPathScheduleHook` raises the
            probability in use from 0 to this over training (without the hook it applies as given). Defaults to 0.
        auxiliary (bool): also return the output of the cell at 2/3 depth, first, for an auxiliary head.
            Defaults to False.
        out_indices (Sequence[int]): cells whose outputs are returned. Defaults to the last.
        act_cfg (dict): activation of the ops. Defaults to ``dict(type='ReLU')``.
        num_nodes (int, optional): if given, the genotype must have this many nodes per cell.
        init_cfg (dict, optional): initialisation config.

    Shapes: input ``(N, in_channels, H, W)``; outputs ``(N, C_i, H_i, W_i)``, e.g. ``(N, 576, 8, 8)`` for the last
    cell of the CIFAR network (36 channels) at 32x32.
    """

    def __init__(self,
                 genotype: Any = 'DARTS_V2',
                 base_channels: int = 36,
                 num_layers: int = 20,
                 stem: str = 'cifar',
                 stem_multiplier: int = 3,
                 in_channels: int = 3,
                 drop_path_prob: float = 0.,
                 auxiliary: bool = False,
                 out_indices: Sequence[int] = (-1, ),
                 act_cfg: Optional[Dict] = dict(type='ReLU'),
                 num_nodes: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        if stem not in STEMS:
            raise ValueError(f"DartsNet: stem must be one of {STEMS}, got {stem!r}")
        if not 0. <= drop_path_prob < 1.:
            raise ValueError(f'DartsNet: drop_path_prob must lie in [0, 1), got {drop_path_prob}')
        check_ints('DartsNet', base_channels=base_channels, num_layers=num_layers, stem_multiplier=stem_multiplier,
                   in_channels=in_channels)
        self.genotype = load_genotype(genotype, where='DartsNet: genotype')  # its ops: the registered candidates
        if num_nodes is not None and self.genotype.num_nodes != num_nodes:
            raise ValueError(f'DartsNet: the genotype has {self.genotype.num_nodes} nodes per cell '
                             f'({len(self.genotype.normal)} edges), but num_nodes={num_nodes} was asked for')
        self.num_layers = num_layers
        self.drop_path_prob = drop_path_prob
        self.drop_path_factor = 1.  # set by DropPathScheduleHook
        self.auxiliary = auxiliary
        self.aux_index = auxiliary_index(num_layers)
        self.out_indices = check_out_indices(out_indices, num_layers, 'DartsNet')
        self.reduction_layers = reduction_layers(num_layers)

        if stem == 'cifar':
            stem_channels = stem_multiplier * base_channels
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False), nn.BatchNorm2d(stem_channels))
            self.stem1 = None
            prev_prev, prev, reduction_prev = stem_channels, stem_channels, False
        else:
            c = base_channels
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, c // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c // 2),
                nn.ReLU(inplace=True), nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c))
            self.stem1 = nn.Sequential(
                nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c))
            prev_prev, prev, reduction_prev = c, c, True
        self.cells = nn.ModuleList()
        self.out_channels: List[int] = []
        for channels, reduction in cell_channels(base_channels, num_layers):
            cell_type = 'reduce' if reduction else 'normal'
            cell = AugmentCell(
                getattr(self.genotype, cell_type), getattr(self.genotype, f'{cell_type}_concat'), prev_prev, prev,
                channels, reduction, reduction_prev, act_cfg, self.genotype.edge_nodes(cell_type))
            self.cells.append(cell)
            prev_prev, prev, reduction_prev = prev, cell.out_channels, reduction
            self.out_channels.append(prev)
        self.aux_channels = self.out_channels[self.aux_index]

    @classmethod
    def feature_channels(cls, **kwargs) -> Tuple[List[int], Optional[int]]:
        """The channels of each output of a network built with ``kwargs``, without building it (the genotype is
        read for its cells' concatenated nodes), and of the auxiliary output (None without ``auxiliary``). Heads
        left without ``in_channels`` / ``aux_in_channels`` get these (see ``complete_head_channels``)."""
        args = constructor_arguments(cls, kwargs, 'DartsNet')
        genotype = load_genotype(args['genotype'], where='DartsNet: genotype')
        out = [c * len(getattr(genotype, f"{'reduce' if r else 'normal'}_concat"))
               for c, r in cell_channels(args['base_channels'], args['num_layers'])]
        picked = sorted(check_out_indices(args['out_indices'], args['num_layers'], 'DartsNet'))
        return [out[i] for i in picked], (out[auxiliary_index(args['num_layers'])] if args['auxiliary'] else None)

    @property
    def current_drop_path_prob(self) -> float:
        return self.drop_path_prob * self.drop_path_factor

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        stem_stride = 1 if self.stem1 is None else 8
        check_input_size(x, stem_stride * 2**len(self.reduction_layers), 'DartsNet', len(self.reduction_layers))
        s0 = self.stem(x)
        s1 = s0 if self.stem1 is None else self.stem1(s0)
        drop_prob = self.current_drop_path_prob
        outs, aux = [], []
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, drop_prob)
            if self.auxiliary and i == self.aux_index:
                aux.append(s1)
            if i in self.out_indices:
                outs.append(s1)
        return tuple(aux + outs)
