"""Eq. 8's two passes, L_train at w⁺ and at w⁻, as one twin pass (issue 16).

The two passes differ only in the weights: the same batch, the same α, BN on batch statistics (the α step freezes
the running ones). A twin pass computes both on one network whose every conv holds the two copies' weights side by
side: a state holds the copies' channels one after the other, ``(N, 2·C, H, W)``; the stem's conv, reading the
shared image, computes both copies in one conv; every later conv runs grouped by copy (the batched cells already
group theirs by edge: the copies double the groups); BN is per channel, so one BN normalises both. The head then
runs once per copy with that copy's weights, giving L(w⁺) and L(w⁻); one backward of their difference gives
∇α L(w⁺) − ∇α L(w⁻), the numerator of Eq. 8. The same numbers as two passes (tests, float64), in about the kernels
of one: a second-order step of the paper's supernet makes 12,050 operator calls instead of 13,415
(``docs/benchmarks.md``), for twice the α-only pass's stored activations at once.

It covers the supernet of :class:`~mmdarts.models.DartsSupernet` with its cells batched and stored so
(:mod:`.edge_banks`), in an mmpretrain ``ImageClassifier`` without a neck or with ``GlobalAveragePooling``, in a
contiguous memory format; :func:`twin_pass_available` says whether a model qualifies, else Eq. 8 runs its two passes.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from ..ops import ActConvBN, FactorizedReduce

COPIES = 2  # w⁺, w⁻


class _Backbone(nn.Module):
    """The backbone under its own name, so that ``functional_call`` swaps its weights for the twin ones."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return twin_supernet(self.backbone, x)


class _HeadLoss(nn.Module):
    """The head's loss as a forward, so that ``functional_call`` runs it with one copy's weights."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, feats: Tuple[torch.Tensor, ...], data_samples) -> Dict[str, torch.Tensor]:
        return self.head.loss(feats, data_samples)


def _batch_statistics(bn: nn.Module) -> bool:
    """Whether a BN normalises with batch statistics and moves no running statistic (training, frozen)."""
    return bn.training and not bn.track_running_stats


def _plain_bn(bn: nn.Module) -> bool:
    return type(bn) is nn.BatchNorm2d and _batch_statistics(bn)


def _preprocess_twinnable(module: nn.Module) -> bool:
    """A cell's preprocessing whose convs can run grouped by copy: plain convs and BNs, an activation without
    weights of its own (it acts on both copies alike)."""
    if type(module) is ActConvBN:
        act, conv, bn = module
    elif type(module) is FactorizedReduce:
        act, conv, bn = module.act, module.conv2, module.bn
        if type(module.conv1) is not nn.Conv2d:
            return False
    else:
        return False
    return type(conv) is nn.Conv2d and _plain_bn(bn) and next(act.parameters(), None) is None


def twin_pass_available(model, batch: Dict, names: Optional[Sequence[str]] = None) -> bool:
    """Whether :func:`twin_losses` computes ``model``'s (a :class:`~mmdarts.models.Darts`) loss on ``batch`` now:
    its ``twin_pass`` switch on, a supernet in the form above, every BN on batch statistics without tracking (inside
    the α step's ``frozen_running_stats``), every cell batched on this device, every weight (``names``, from
    ``model._weights()`` if not given: a walk over the whole model) in the backbone or the head."""
    from mmpretrain.models import GlobalAveragePooling, ImageClassifier

    from ..backbones import DartsSupernet
    arch, x = model.architecture, batch['inputs']
    if (not getattr(model, 'twin_pass', False) or type(arch).loss is not ImageClassifier.loss
            or type(arch).extract_feat is not ImageClassifier.extract_feat):
        return False
    backbone = arch.backbone
    if type(backbone) is not DartsSupernet or backbone.partial_channels != 1 or not x.is_contiguous():
        return False
    if getattr(arch, 'neck', None) is not None and type(arch.neck) is not GlobalAveragePooling:
        return False
    stem = backbone.stem
    if not (len(stem) == 2 and type(stem[0]) is nn.Conv2d and _plain_bn(stem[1])):
        return False
    for cell in backbone.cells:
        if cell.banks is None or not (_preprocess_twinnable(cell.preprocess0)
                                      and _preprocess_twinnable(cell.preprocess1)):
            return False
        plan = cell.batched_plan(x.device)
        if (plan is None or any(wave.others for wave in plan.waves)
                or not all(_batch_statistics(bn) for bn in plan.batch_norms[:1])):  # all alike (usable())
            return False
    names = model._weights()[0] if names is None else names
    return all(n.startswith(('backbone.', 'head.')) for n in names)


def _preprocess(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A cell's input preprocessing with the copies' weights side by side: its convs grouped by copy."""
    if type(module) is ActConvBN:
        act, conv, bn = module
        return bn(F.conv2d(act(x), conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation,
                           conv.groups * COPIES))
    x = module.act(x)
    halves = [F.conv2d(t, c.weight, c.bias, c.stride, c.padding, c.dilation, c.groups * COPIES)
              for t, c in ((x, module.conv1), (module.offset_grid(x), module.conv2))]
    n, _, h, w = halves[0].shape
    return module.bn(torch.stack([t.view(n, COPIES, -1, h, w) for t in halves], 2).view(n, -1, h, w))


def twin_supernet(backbone: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """:class:`~mmdarts.models.DartsSupernet`'s forward with twin weights (each the two copies' concatenated):
    its outputs ``(N, 2·C, H, W)``, copy by copy along the channels."""
    s0 = s1 = backbone.stem(x)  # one conv of 2·C filters over the shared image: both copies
    outs = []
    for i, cell in enumerate(backbone.cells):
        kind = 'reduce' if cell.reduction else 'normal'
        weights = backbone._arch_weights[kind]
        p0, p1 = _preprocess(cell.preprocess0, s0), _preprocess(cell.preprocess1, s1)
        s0, s1 = s1, cell.batched_plan(p0.device)(p0, p1, weights, COPIES)
        if i in backbone.out_indices:
            outs.append(s1)
    return tuple(outs)


def twin_losses(model, batch: Dict, names: Sequence[str], plus: Sequence[torch.Tensor],
                minus: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """``[L_train(w⁺, α), L_train(w⁻, α)]`` of ``model`` (a :class:`~mmdarts.models.Darts` for which
    :func:`twin_pass_available` holds) on ``batch``, in one twin pass; ``names`` the architecture's weight names
    (``model._weights()``), ``plus`` and ``minus`` the two copies' weights in that order."""
    arch = model.architecture
    twin = {n: torch.cat([p, m]) for n, p, m in zip(names, plus, minus) if n.startswith('backbone.')}
    with model.supernet.arch_weights(model.mutator.arch_weights()):
        feats = functional_call(_Backbone(arch.backbone), twin, (batch['inputs'], ), strict=False)
    if getattr(arch, 'neck', None) is not None:
        feats = arch.neck(feats)
    copies = list(zip(*(f.chunk(COPIES, 1) for f in feats)))
    losses = []
    for weights, copy in zip((plus, minus), copies):
        head = {n: w for n, w in zip(names, weights) if n.startswith('head.')}
        out = functional_call(_HeadLoss(arch.head), head, (tuple(copy), batch['data_samples']), strict=False)
        losses.append(model.parse_losses(out)[0])
    return losses
