from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from mmdarts.registry import MODELS


class AuxiliaryClassifier(nn.Sequential):
    """The DARTS auxiliary tower (Szegedy et al.; Liu et al., 2019, Sec. 3.2): ReLU, 5x5 average pool, 1x1 conv to
    128, 2x2 conv to 768, linear. ``pool_stride`` 3 suits the 8x8 CIFAR features, 2 the 7x7 ImageNet ones."""

    def __init__(self, in_channels: int, num_classes: int, pool_stride: int = 3, batch_norm: bool = True):
        layers = [
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False),
            nn.Conv2d(in_channels, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False)
        ]
        if batch_norm:
            layers.append(nn.BatchNorm2d(768))
        # The pool is the identity at the paper's sizes (1x1 after the 2x2 conv); it keeps other sizes working.
        layers += [nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(768, num_classes)]
        super().__init__(*layers)


@MODELS.register_module()
class DartsAuxClsHead(ClsHead):
    """Global average pooling and a linear classifier on the last feature, plus, in training only, the DARTS
    auxiliary classifier on the first feature (a ``DartsNet(auxiliary=True)`` gives the 2/3-depth cell first).

    The auxiliary loss, weighted by ``aux_weight``, is added in ``loss`` (training); ``predict`` and the
    ``'tensor'`` forward use the main classifier alone, so evaluation and export ignore the auxiliary tower.
    Use it without a neck.

    Args:
        num_classes (int): classes.
        in_channels (int): channels of the last feature.
        aux_in_channels (int, optional): channels of the auxiliary feature; None disables the tower.
        aux_weight (float): weight of the auxiliary loss. Defaults to 0.4 (the paper).
        aux_pool_stride (int): 3 for CIFAR (8x8 features), 2 for ImageNet (7x7). Defaults to 3.
        aux_batch_norm (bool): BN after the tower's 2x2 conv. Defaults to True.
        loss (dict): the loss of both classifiers. Defaults to cross-entropy.
        topk (int | Sequence[int]): accuracies reported in training. Defaults to (1, ).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 aux_in_channels: Optional[int] = None,
                 aux_weight: float = 0.4,
                 aux_pool_stride: int = 3,
                 aux_batch_norm: bool = True,
                 **kwargs):
        super().__init__(**kwargs)  # loss, topk, init_cfg: ClsHead's, with the defaults documented above
        if num_classes < 1:
            raise ValueError(f'DartsAuxClsHead: num_classes must be >= 1, got {num_classes}')
        self.fc = nn.Linear(in_channels, num_classes)
        self.aux_weight = aux_weight
        self.aux_head = (AuxiliaryClassifier(aux_in_channels, num_classes, aux_pool_stride, aux_batch_norm)
                         if aux_in_channels is not None and aux_weight > 0 else None)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return feats[-1].mean(dim=(2, 3))

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        features = self.pre_logits(feats)
        if features.shape[-1] != self.fc.in_features:
            raise ValueError(f'DartsAuxClsHead: in_channels={self.fc.in_features} but the last feature has '
                             f'{features.shape[-1]} channels; set the head\'s in_channels to the backbone\'s '
                             'out_channels[-1] (DartsNet: num_nodes * 4 * base_channels)')
        return self.fc(features)

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample], **kwargs) -> dict:
        losses = super().loss(feats, data_samples, **kwargs)
        if self.aux_head is not None:
            if len(feats) < 2:
                raise ValueError('DartsAuxClsHead: the auxiliary tower needs two features (auxiliary, last); '
                                 'build the backbone with DartsNet(auxiliary=True)')
            aux = self._get_loss(self.aux_head(feats[0]), data_samples, **kwargs)
            losses['loss_aux'] = self.aux_weight * aux['loss']
        return losses
