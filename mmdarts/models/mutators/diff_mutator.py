from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdarts.registry import MODELS
from mmdarts.structures import CELL_TYPES, Genotype, derive_cell, derive_cell_threshold

WEIGHTINGS = ('softmax', 'gumbel', 'sigmoid')
SELECTIONS = ('darts', 'threshold')


def mixed_op_weights(alpha: torch.Tensor) -> torch.Tensor:
    """Eq. 2 of Liu et al. (2019): the weight of each op on an edge, softmax over the ops of α's rows."""
    return torch.softmax(alpha, dim=-1)


def edge_normalized_weights(beta: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """PC-DARTS's edge normalisation (Xu et al., ICLR 2020, Eq. 4): softmax of β over each node's incoming
    edges, rows in :func:`~mmdarts.structures.cell_edges` order."""
    return torch.cat([b.softmax(-1) for b in beta.split([node + 2 for node in range(num_nodes)])])


def hard_gumbel_weights(alpha: torch.Tensor, tau: float, gumbel: torch.Tensor) -> torch.Tensor:
    """GDAS (Dong & Yang, CVPR 2019, Eq. 5-6): one op per edge, the argmax of softmax((α + G) / τ) for Gumbel noise
    G, as a one-hot forward whose gradient is that of the softmax (straight-through)."""
    soft = torch.softmax((alpha + gumbel) / tau, dim=-1)
    hard = torch.zeros_like(soft).scatter_(-1, soft.argmax(dim=-1, keepdim=True), 1.)
    return hard - soft.detach() + soft


@MODELS.register_module()
class DiffMutator(BaseModule):
    """Holds the architecture parameters α of a DARTS supernet and turns them into op weights and a genotype.

    α for the normal and the reduction cell are ``nn.Parameter``s of shape ``(num_edges, num_ops)``
    (``alphas['normal']``, ``alphas['reduce']``), created by :meth:`prepare_from_supernet` with
    ``init_std * randn`` as in the paper's code. Op weights are recomputed from α at every call: nothing is cached.

    Args:
        init_std (float): standard deviation of the initial α. Defaults to 1e-3.
        exclude (Sequence[str]): ops the genotype never selects. Defaults to ``('none',)`` (the paper).
        weighting (str): how α mixes the ops: ``'softmax'`` (DARTS, Eq. 2), ``'gumbel'`` (GDAS: in training one
            sampled op per edge, hard Gumbel-softmax at temperature ``tau`` with straight-through gradients; in
            evaluation the argmax op) or ``'sigmoid'`` (Fair DARTS: σ(α), ops do not compete). The genotype is
            derived from σ(α) with ``'sigmoid'``, else from softmax(α). Defaults to 'softmax'.
        tau (float): the Gumbel-softmax temperature (``GumbelTemperatureHook`` anneals it). Defaults to 10.
        selection (str): the genotype rule: ``'darts'`` (two edges per node) or ``'threshold'`` (Fair DARTS: of
            those, the edges whose op weighs at least ``threshold``). Defaults to 'darts'.
        threshold (float): for ``selection='threshold'``. Defaults to 0.85 (Fair DARTS).
        edge_normalization (bool): PC-DARTS: also a β per edge (``betas['normal']``, ``betas['reduce']``), each
            node's incoming edges weighted by softmax(β); the genotype then ranks op weight · softmax(β).
            Defaults to False.
        init_cfg (dict, optional): initialisation config. Defaults to None.
    """

    def __init__(self, init_std: float = 1e-3, exclude: Sequence[str] = ('none', ), weighting: str = 'softmax',
                 tau: float = 10., selection: str = 'darts', threshold: float = 0.85,
                 edge_normalization: bool = False, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        if init_std < 0:
            raise ValueError(f'DiffMutator: init_std must be >= 0, got {init_std}')
        if weighting not in WEIGHTINGS:
            raise ValueError(f'DiffMutator: weighting must be one of {WEIGHTINGS}, got {weighting!r}')
        if selection not in SELECTIONS:
            raise ValueError(f'DiffMutator: selection must be one of {SELECTIONS}, got {selection!r}')
        if tau <= 0:
            raise ValueError(f'DiffMutator: tau must be > 0, got {tau}')
        self.weighting = weighting
        self.tau = tau
        self.selection = selection
        self.threshold = threshold
        self.edge_normalization = edge_normalization
        self.betas = nn.ParameterDict()
        self._noise: Optional[Dict[str, torch.Tensor]] = None
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
            if self.edge_normalization:
                self.betas[cell] = nn.Parameter(self.init_std * torch.randn(shape[0]))

    def init_weights(self) -> None:
        # α keep their own initialisation: BaseModule.init_weights would pass them to a generic initialiser.
        pass

    def arch_weights(self, detach: bool = False) -> Dict[str, torch.Tensor]:
        """Op weights of each cell type, recomputed from α (softmax, Eq. 2, or GDAS's hard Gumbel sample);
        ``detach=True`` cuts them from α's graph."""
        if not len(self.alphas):
            raise RuntimeError('DiffMutator has no α yet: call prepare_from_supernet(supernet) first')
        weights = self._op_weights(detach)
        for cell, beta in self.betas.items():  # PC-DARTS's edge normalisation
            weights[f'{cell}_edges'] = edge_normalized_weights(beta.detach() if detach else beta, self.num_nodes)
        return weights

    def _op_weights(self, detach: bool) -> Dict[str, torch.Tensor]:
        alphas = {cell: alpha.detach() if detach else alpha for cell, alpha in self.alphas.items()}
        if self.weighting == 'softmax':
            return {cell: mixed_op_weights(alpha) for cell, alpha in alphas.items()}
        if self.weighting == 'sigmoid':
            return {cell: torch.sigmoid(alpha) for cell, alpha in alphas.items()}
        if not self.training:  # the architecture the search would pick now
            return {cell: F.one_hot(alpha.argmax(-1), alpha.shape[-1]).to(alpha) for cell, alpha in alphas.items()}
        with self.fixed_sample():  # the draw fixed outside, or a fresh one
            return {cell: hard_gumbel_weights(alpha, self.tau, self._noise[cell]) for cell, alpha in alphas.items()}

    @contextmanager
    def fixed_sample(self) -> Iterator[None]:
        """Inside, every forward of the Gumbel weighting uses one Gumbel draw, made on entry: the passes of one
        second-order α step (virtual, L_val, ±ε) then see the same architecture. A no-op for other weightings."""
        if self.weighting != 'gumbel' or self._noise is not None:
            yield
            return
        self._noise = {cell: -torch.empty_like(a).exponential_().log() for cell, a in self.alphas.items()}
        try:
            yield
        finally:
            self._noise = None

    def selection_weights(self) -> Dict[str, torch.Tensor]:
        """The weights the genotype is derived from, detached: σ(α) with the sigmoid weighting, else softmax(α);
        times softmax(β) over each node's edges with edge normalisation."""
        squash = torch.sigmoid if self.weighting == 'sigmoid' else mixed_op_weights
        weights = {cell: squash(alpha.detach()) for cell, alpha in self.alphas.items()}
        for cell, beta in self.betas.items():  # PC-DARTS ranks op weight · softmax(β)
            weights[cell] = weights[cell] * edge_normalized_weights(beta.detach(), self.num_nodes)[:, None]
        return weights

    def derive_genotype(self) -> Genotype:
        """The genotype derived from :meth:`selection_weights` by the paper's rule
        (:func:`~mmdarts.structures.derive_cell`), or by :func:`~mmdarts.structures.derive_cell_threshold` where
        ``selection='threshold'``."""
        weights = self.selection_weights()
        cells = {}
        for cell in CELL_TYPES:
            if self.selection == 'threshold':
                cells[cell], cells[f'{cell}_in_degree'] = derive_cell_threshold(
                    weights[cell], self.primitives, self.num_nodes, self.threshold, self.exclude)
            else:
                cells[cell] = derive_cell(weights[cell], self.primitives, self.num_nodes, self.exclude)
            cells[f'{cell}_concat'] = list(range(2, 2 + self.num_nodes))
        return Genotype(**cells)
