"""The architecture gradient of DARTS (Liu et al., 2019, Sec. 2.3) as pure functions on lists of tensors.

Equations, with w the weights, α the architecture, ξ the weight learning rate:
  (6) w' = w − ξ ∇w L_train(w, α)                          (the virtual step; the code adds momentum and decay)
  (7) ∇α L_val(w', α) − ξ ∇²α,w L_train(w, α) ∇w' L_val(w', α)
  (8) ∇²α,w L_train(w, α) v ≈ [∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)] / (2ε),  w± = w ± ε v,  ε = 0.01 / ‖v‖
      (the numerator equally ∇α [L_train(w⁺, α) − L_train(w⁻, α)], one backward of a twin pass)
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch

Tensors = Sequence[torch.Tensor]
Rate = Union[float, torch.Tensor]  # ξ: the optimizer's float, or a 0-dim tensor (read from memory by a CUDA graph)


@torch.no_grad()
def virtual_step(weights: Tensors, grads: Tensors, momentum_buffers: Sequence[Optional[torch.Tensor]], lr: Rate,
                 momentums: Sequence[float], weight_decays: Sequence[float]) -> List[torch.Tensor]:
    """Eq. 6 with the weight optimizer's momentum and weight decay, as SGD would step (and the paper's code does):
    w' = w − ξ (μ·buf + ∇w L_train + λ·w). A missing momentum buffer (before the first step) counts as zero.

    Computed with ``torch._foreach_*`` ops, a few calls for all the tensors of a (μ, λ) group instead of several
    per tensor (the supernet has ~1,400 weight tensors; each call is a kernel launch on a GPU). Returns new leaf
    tensors that require grad (∇w' L_val is needed); ``weights`` are left untouched. A tensor ``lr`` costs one
    call more per group (the product, then the difference; equal to the float's result to float rounding).
    """
    groups: Dict[tuple, List[int]] = {}  # the indices of the tensors of each (μ, λ, momentum buffer or not)
    for i, key in enumerate(zip(momentums, weight_decays, [b is not None for b in momentum_buffers])):
        groups.setdefault(key, []).append(i)
    out: List[Optional[torch.Tensor]] = [None] * len(weights)
    for (mu, wd, has_buffer), index in groups.items():
        w, g = [weights[i] for i in index], [grads[i] for i in index]
        d = torch._foreach_add(g, w, alpha=wd) if wd else list(g)
        if has_buffer and mu:
            d = torch._foreach_add(d, [momentum_buffers[i] for i in index], alpha=mu)
        moved = (torch._foreach_sub(w, torch._foreach_mul(d, lr)) if isinstance(lr, torch.Tensor)
                 else torch._foreach_add(w, d, alpha=-lr))
        for i, t in zip(index, moved):
            out[i] = t.requires_grad_(True)
    return out


@torch.no_grad()
def finite_difference_epsilon(vector: Tensors, scale: float = 0.01) -> torch.Tensor:
    """ε = scale / ‖v‖₂ over all tensors of v (footnote to Eq. 8), as a 0-dim tensor and without a host sync.

    A zero v gives a huge but finite ε: then w± = w and the product of Eq. 8 is exactly 0, not NaN.
    """
    dtype = torch.promote_types(vector[0].dtype, torch.float32)  # half types are summed in float32
    norms = torch._foreach_norm(list(vector), 2, dtype=dtype)
    norm = torch.linalg.vector_norm(torch.stack(norms))
    return scale / norm.clamp_min(torch.finfo(torch.float32).tiny)


@torch.no_grad()
def perturb(weights: Tensors, vector: Tensors, epsilon: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
    """w⁺ = w + ε v and w⁻ = w − ε v (Eq. 8), as new tensors that need no grad (``torch._foreach_*`` ops)."""
    step = torch._foreach_mul(list(vector), epsilon.to(weights[0].dtype))
    return torch._foreach_add(list(weights), step), torch._foreach_sub(list(weights), step)


def finite_difference_hvp(grads_plus: Tensors, grads_minus: Tensors, epsilon: torch.Tensor) -> List[torch.Tensor]:
    """Eq. 8: [∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)] / (2ε), the whole difference divided by the whole 2ε."""
    return [(gp - gm) / (2 * epsilon.to(gp.dtype)) for gp, gm in zip(grads_plus, grads_minus)]


def finite_difference_hvp_of_difference(grads_difference: Tensors, epsilon: torch.Tensor) -> List[torch.Tensor]:
    """Eq. 8 with the difference taken before the gradient: ∇α [L_train(w⁺, α) − L_train(w⁻, α)] / (2ε), where
    one backward of the losses' difference gives the numerator (:mod:`.twin_pass`)."""
    return [g / (2 * epsilon.to(g.dtype)) for g in grads_difference]


def exact_hvp(grads_w: Tensors, alphas: Tensors, vector: Tensors) -> List[torch.Tensor]:
    """∇²α,w L_train · v exactly, by double backward: ∇α ⟨∇w L_train(w, α), v⟩, where ``grads_w`` were computed
    with ``create_graph=True`` and α attached. The alternative to Eq. 8's finite difference."""
    out = torch.autograd.grad(list(grads_w), list(alphas), grad_outputs=list(vector), allow_unused=True)
    return [torch.zeros_like(a) if g is None else g for g, a in zip(out, alphas)]


def unrolled_arch_gradient(grads_val: Tensors, hvp: Tensors, lr: Rate) -> List[torch.Tensor]:
    """Eq. 7: ∇α L_val(w', α) − ξ · (∇²α,w L_train ∇w' L_val)."""
    return [g - lr * h for g, h in zip(grads_val, hvp)]


def sgd_hyperparameters(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]
                        ) -> Tuple[float, List[float], List[float], List[Optional[torch.Tensor]]]:
    """The weight optimizer's state that Eq. 6's virtual step uses: the lr ξ (one for all groups), and each
    parameter's momentum, weight decay and momentum buffer (None before the first step)."""
    group_of = {id(p): g for g in optimizer.param_groups for p in g['params']}
    missing = [i for i, p in enumerate(params) if id(p) not in group_of]
    if missing:
        raise ValueError(f'Darts(unroll=True): {len(missing)} weight tensors are not in the weight optimizer')
    groups = [group_of[id(p)] for p in params]
    lrs = {float(g['lr']) for g in groups}
    if len(lrs) != 1:
        raise ValueError(f'Darts(unroll=True) needs one learning rate ξ for all weight groups, got {sorted(lrs)}')
    if any(g.get('nesterov', False) or g.get('dampening', 0) for g in groups):
        raise ValueError('Darts(unroll=True): the virtual step follows plain SGD momentum; nesterov and dampening '
                         'are not supported')
    momentums = [float(g.get('momentum', 0.)) for g in groups]
    decays = [float(g.get('weight_decay', 0.)) for g in groups]
    buffers = [optimizer.state.get(p, {}).get('momentum_buffer') for p in params]
    return lrs.pop(), momentums, decays, buffers
