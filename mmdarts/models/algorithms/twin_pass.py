"""Eq. 8's two passes, L_train at w⁺ and at w⁻, as one twin pass.

The two passes differ only in the weights: the same batch, the same α, BN on batch statistics (the α step freezes
the running ones). A twin pass computes both in one forward of the supernet with two weight copies side by side
(:meth:`~mmdarts.models.DartsSupernet.forward` with ``copies=2``): a state holds the copies' channels one after
the other, ``(N, 2·C, H, W)``; the stem's conv, reading the shared image, computes both copies in one conv; every
later conv runs grouped by copy (the batched cells already group theirs by edge: the copies double the groups); BN
is per channel, so one BN normalises both. The head then runs once per copy with that copy's weights, giving
L(w⁺) and L(w⁻); one backward of their difference gives ∇α L(w⁺) − ∇α L(w⁻), the numerator of Eq. 8. The same
numbers as two passes (tests, float64), in about the kernels of one (``docs/benchmarks.md``), for twice the
α-only pass's stored activations at once.

:func:`twin_pass_unavailable` says why a model does not qualify (the supernet's ``copies_unavailable``, an
mmpretrain ``ImageClassifier`` without a neck or with ``GlobalAveragePooling``), and Eq. 8 then runs its two passes.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch.func import functional_call

COPIES = 2  # w⁺, w⁻


class _HeadLoss(nn.Module):
    """The head's loss as a forward, so that ``functional_call`` runs it with one copy's weights."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, feats: Tuple[torch.Tensor, ...], data_samples) -> Dict[str, torch.Tensor]:
        return self.head.loss(feats, data_samples)


def twin_pass_unavailable(model, batch: Dict, names: Optional[Sequence[str]] = None) -> Optional[str]:
    """Why :func:`twin_losses` cannot compute ``model``'s (a :class:`~mmdarts.models.Darts`) loss on ``batch``
    now, or None where it can: its ``twin_pass`` switch on, a plain ``ImageClassifier`` (no neck, or global average
    pooling) whose supernet runs weight copies side by side on this batch (``copies_unavailable``), every weight
    (``names``, from ``model._weights()`` if not given: a walk over the whole model) in the backbone or the
    head."""
    from mmpretrain.models import GlobalAveragePooling, ImageClassifier
    arch, x = model.architecture, batch['inputs']
    if not getattr(model, 'twin_pass', False):
        return 'twin_pass=False'
    if type(arch).loss is not ImageClassifier.loss or type(arch).extract_feat is not ImageClassifier.extract_feat:
        return f'{type(arch).__name__} overrides the classifier\'s loss or extract_feat'
    if getattr(arch, 'neck', None) is not None and type(arch.neck) is not GlobalAveragePooling:
        return f'the neck {type(arch.neck).__name__} (GlobalAveragePooling or none only)'
    unavailable = getattr(arch.backbone, 'copies_unavailable', None)
    why = f'{type(arch.backbone).__name__} carries no weight copies' if unavailable is None else unavailable(x)
    if why is not None:
        return why
    names = model._weights()[0] if names is None else names
    outside = [n for n in names if not n.startswith(('backbone.', 'head.'))]
    return f'weights outside the backbone and head ({outside[:3]})' if outside else None


def twin_losses(model, batch: Dict, names: Sequence[str], plus: Sequence[torch.Tensor],
                minus: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """``[L_train(w⁺, α), L_train(w⁻, α)]`` of ``model`` (a :class:`~mmdarts.models.Darts` for which
    :func:`twin_pass_unavailable` is None) on ``batch``, in one twin pass; ``names`` the architecture's weight names
    (``model._weights()``), ``plus`` and ``minus`` the two copies' weights in that order."""
    arch = model.architecture
    prefix = len('backbone.')
    twin = {n[prefix:]: torch.cat([p, m]) for n, p, m in zip(names, plus, minus) if n.startswith('backbone.')}
    with model.supernet.arch_weights(model.mutator.arch_weights()):
        feats = functional_call(arch.backbone, twin, (batch['inputs'], ), {'copies': COPIES}, strict=False)
    if getattr(arch, 'neck', None) is not None:
        feats = arch.neck(feats)
    copies = list(zip(*(f.chunk(COPIES, 1) for f in feats)))
    losses = []
    for weights, copy in zip((plus, minus), copies):
        head = {n: w for n, w in zip(names, weights) if n.startswith('head.')}
        out = functional_call(_HeadLoss(arch.head), head, (tuple(copy), batch['data_samples']), strict=False)
        losses.append(model.parse_losses(out)[0])
    return losses
