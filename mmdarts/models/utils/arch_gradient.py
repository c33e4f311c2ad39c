"""The architecture gradient of DARTS (Liu et al., 2019, Sec. 2.3) as pure functions on lists of tensors.

Equations, with w the weights, α the architecture, ξ the weight learning rate:
  (6) w' = w − ξ ∇w L_train(w, α)                          (the virtual step; the code adds momentum and decay)
  (7) ∇α L_val(w', α) − ξ ∇²α,w L_train(w, α) ∇w' L_val(w', α)
  (8) ∇²α,w L_train(w, α) v ≈ [∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)] / (2ε),  w± = w ± ε v,  ε = 0.01 / ‖v‖
"""
from typing import List, Optional, Sequence, Tuple

import torch

Tensors = Sequence[torch.Tensor]


@torch.no_grad()
def virtual_step(weights: Tensors, grads: Tensors, momentum_buffers: Sequence[Optional[torch.Tensor]], lr: float,
                 momentums: Sequence[float], weight_decays: Sequence[float]) -> List[torch.Tensor]:
    """Eq. 6 with the weight optimizer's momentum and weight decay, as SGD would step (and the paper's code does):
    w' = w − ξ (μ·buf + ∇w L_train + λ·w). A missing momentum buffer (before the first step) counts as zero.

    Returns new leaf tensors that require grad (∇w' L_val is needed); ``weights`` are left untouched.
    """
    out = []
    for w, g, buf, mu, wd in zip(weights, grads, momentum_buffers, momentums, weight_decays):
        d = g.add(w, alpha=wd) if wd else g.clone()
        if buf is not None and mu:
            d.add_(buf, alpha=mu)
        out.append(torch.add(w, d, alpha=-lr).requires_grad_(True))
    return out


def finite_difference_epsilon(vector: Tensors, scale: float = 0.01) -> torch.Tensor:
    """ε = scale / ‖v‖₂ over all tensors of v (footnote to Eq. 8), as a 0-dim tensor and without a host sync.

    A zero v gives a huge but finite ε: then w± = w and the product of Eq. 8 is exactly 0, not NaN.
    """
    dtype = torch.promote_types(vector[0].dtype, torch.float32)  # half types are summed in float32
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(v.detach(), dtype=dtype) for v in vector]))
    return scale / norm.clamp_min(torch.finfo(torch.float32).tiny)


@torch.no_grad()
def perturb(weights: Tensors, vector: Tensors, epsilon: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
    """w⁺ = w + ε v and w⁻ = w − ε v (Eq. 8), as new tensors that need no grad."""
    plus = [w + epsilon.to(w.dtype) * v for w, v in zip(weights, vector)]
    minus = [w - epsilon.to(w.dtype) * v for w, v in zip(weights, vector)]
    return plus, minus


def finite_difference_hvp(grads_plus: Tensors, grads_minus: Tensors, epsilon: torch.Tensor) -> List[torch.Tensor]:
    """Eq. 8: [∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)] / (2ε), the whole difference divided by the whole 2ε."""
    return [(gp - gm) / (2 * epsilon.to(gp.dtype)) for gp, gm in zip(grads_plus, grads_minus)]


def unrolled_arch_gradient(grads_val: Tensors, hvp: Tensors, lr: float) -> List[torch.Tensor]:
    """Eq. 7: ∇α L_val(w', α) − ξ · (∇²α,w L_train ∇w' L_val)."""
    return [g - lr * h for g, h in zip(grads_val, hvp)]
