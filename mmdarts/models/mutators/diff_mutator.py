from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmdarts.registry import MODELS
from mmdarts.structures import CELL_TYPES, Genotype, derive_cell


def mixed_op_weights(alpha: torch.Tensor) -> torch.Tensor:
    """Eq. 2 of Liu et al. (2019): the weight of each op on an edge, softmax over the ops of α's rows."""
    return torch.softmax(alpha, dim=-1)


@MODELS.register_module()
class DiffMutator(BaseModule):
    """Holds the architecture parameters α of a DARTS supernet and turns them into op weights and a genotype.

    α for the normal and the reduction cell are ``nn.Parameter``s of shape ``(num_edges, num_ops)``
    (``alphas['normal']``, ``alphas['reduce']``), created by :meth:`prepare_from_supernet` with
    ``init_std * randn`` as in the paper's code. Op weights are recomputed from α at every call: nothing is cached.

    Args:
        init_std (float): standard deviation of the initial α. Defaults to 1e-3.
        exclude (Sequence[str]): ops the genotype never selects. Defaults to ``('none',)`` (the paper).
        init_cfg (dict, optional): initialisation config. Defaults to None.
    """

    def __init__(self, init_std: float = 1e-3, exclude: Sequence[str] = ('none', ), init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        if init_std < 0:
            raise ValueError(f'DiffMutator: init_std must be >= 0, got {init_std}')
        self.init_std = init_std
        self.exclude = tuple(exclude)
        self.alphas = nn.ParameterDict()
        self.primitives: Sequence[str] = ()
        self.num_nodes = 0

    def prepare_from_supernet(self, supernet: nn.Module) -> None:
        """Creates α for every cell type of ``supernet.search_space``."""
        for attr in ('search_space', 'primitives', 'num_nodes'):
            if not hasattr(supernet, attr):
                raise TypeError(f'DiffMutator: the backbone {type(supernet).__name__} is not a DARTS supernet '
                                f'(it has no {attr!r}); use e.g. mmdarts.DartsSupernet')
        self.primitives = list(supernet.primitives)
        self.num_nodes = supernet.num_nodes
        for cell, shape in supernet.search_space.items():
            self.alphas[cell] = nn.Parameter(self.init_std * torch.randn(*shape))

    def init_weights(self) -> None:
        # α keep their own initialisation: BaseModule.init_weights would pass them to a generic initialiser.
        pass

    def arch_weights(self, detach: bool = False) -> Dict[str, torch.Tensor]:
        """Op weights softmax(α) of each cell type (Eq. 2); ``detach=True`` cuts them from α's graph."""
        if not len(self.alphas):
            raise RuntimeError('DiffMutator has no α yet: call prepare_from_supernet(supernet) first')
        return {cell: mixed_op_weights(alpha.detach() if detach else alpha) for cell, alpha in self.alphas.items()}

    def derive_genotype(self) -> Genotype:
        """The genotype by the paper's rule (:func:`~mmdarts.structures.derive_cell`) on softmax(α)."""
        weights = self.arch_weights(detach=True)
        cells = {}
        for cell in CELL_TYPES:
            cells[cell] = derive_cell(weights[cell], self.primitives, self.num_nodes, self.exclude)
            cells[f'{cell}_concat'] = list(range(2, 2 + self.num_nodes))
        return Genotype(**cells)

    def forward(self, detach: bool = False) -> Dict[str, torch.Tensor]:
        return self.arch_weights(detach)
