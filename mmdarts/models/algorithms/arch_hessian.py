"""The dominant eigenvalue of the Hessian of L_val with respect to α (Zela et al., ICLR 2020: R-DARTS), the search's
health: it rises as the cells collapse into skip connections.

R-DARTS builds the whole Hessian, one double backward per α (224 in the DARTS space). Here the Lanczos method
reads it through exact Hessian-vector products, ``H v = ∇α ⟨∇α L_val, v⟩`` (a double backward each), at the current
weights with the BN statistics frozen and in IEEE float32 (as every α pass): ``iterations`` products give the
largest eigenvalue of the Krylov subspace they span, the dominant one to float precision long before the dimension
(and exactly at it). Averaged over ``batches`` (one Hessian of their mean loss) and over the ranks of a distributed
search, from a start vector drawn from a fixed seed, so every rank computes the same number.
"""
from typing import Callable, Dict, List, Sequence

import torch

from mmdarts.utils import all_reduce_mean_

from ..functional.modes import twice_differentiable
from .arch_gradient import exact_hvp
from .precision import full_precision
from .running_stats import frozen_running_stats
from .second_order import weights_without_grad


def arch_hessian_vector_product(model, batches: Sequence[Dict], vector: Sequence[torch.Tensor],
                                weight_decay: float = 0.0) -> List[torch.Tensor]:
    """(∇²α L_val + weight_decay · I) · ``vector`` of ``model`` (a :class:`~mmdarts.models.algorithms.Darts`), L_val
    averaged over the preprocessed ``batches`` and over the ranks; one tensor per mutator parameter."""
    alphas = list(model.mutator.parameters())
    total = [torch.zeros_like(a) for a in alphas]
    with frozen_running_stats(model.architecture), full_precision(), twice_differentiable(), \
            weights_without_grad(model._weights()[1]):
        for batch in batches:
            loss, _ = model.loss_and_log(batch)
            grads = torch.autograd.grad(loss, alphas, create_graph=True)
            for t, p in zip(total, exact_hvp(grads, alphas, vector)):  # ∇α ⟨∇α L_val, v⟩
                t.add_(p.detach(), alpha=1.0 / len(batches))
    all_reduce_mean_(total)
    return [t + weight_decay * v for t, v in zip(total, vector)]


def lanczos_largest_eigenvalue(matvec: Callable[[torch.Tensor], torch.Tensor], dimension: int,
                                iterations: int) -> float:
    """The largest eigenvalue of the symmetric operator ``matvec`` (float64 vectors of ``dimension``) by at most
    ``iterations`` steps of Lanczos with full reorthogonalisation: exact (to rounding) at ``dimension`` steps, or
    once the Krylov subspace is invariant."""
    q = torch.randn(dimension, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    basis, diagonal, off_diagonal = [q / q.norm()], [], []
    for step in range(min(iterations, dimension)):
        w = matvec(basis[-1])
        diagonal.append(torch.dot(w, basis[-1]))
        stacked = torch.stack(basis)
        for _ in range(2):  # full reorthogonalisation, twice (Kahan's "twice is enough")
            w = w - stacked.T @ (stacked @ w)
        beta = w.norm()
        if step == min(iterations, dimension) - 1 or beta <= 1e-12 * max(1.0, abs(float(diagonal[-1]))):
            break  # the last step, or an invariant subspace: its eigenvalues are exact
        off_diagonal.append(beta)
        basis.append(w / beta)
    tridiagonal = torch.diag(torch.stack(diagonal))
    if off_diagonal:
        off = torch.stack(off_diagonal)
        tridiagonal = tridiagonal + torch.diag(off, 1) + torch.diag(off, -1)
    return float(torch.linalg.eigvalsh(tridiagonal)[-1])


def dominant_arch_eigenvalue(model, batches: Sequence[Dict], iterations: int = 20, weight_decay: float = 0.0) -> float:
    """The largest eigenvalue of ∇²α L_val (+ ``weight_decay`` on the diagonal, R-DARTS's α weight decay) of
    ``model`` (a :class:`~mmdarts.models.algorithms.Darts`) on ``batches``, by :func:`lanczos_largest_eigenvalue`
    on :func:`arch_hessian_vector_product` (at most one product per α)."""
    if iterations < 1:
        raise ValueError(f'dominant_arch_eigenvalue: iterations must be >= 1, got {iterations}')
    alphas = list(model.mutator.parameters())
    shapes, sizes = [a.shape for a in alphas], [a.numel() for a in alphas]

    def matvec(vector: torch.Tensor) -> torch.Tensor:
        pieces = [p.reshape(s).to(alphas[0]) for p, s in zip(vector.split(sizes), shapes)]
        products = arch_hessian_vector_product(model, batches, pieces, weight_decay)
        return torch.cat([h.reshape(-1) for h in products]).to(torch.float64)

    with model.mutator.fixed_sample():  # GDAS: one Gumbel draw, one Hessian
        return lanczos_largest_eigenvalue(matvec, sum(sizes), iterations)
