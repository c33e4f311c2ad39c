"""Channel counts of a classifier's head derived from its DARTS backbone, so a config never types them by hand."""
import inspect
from typing import Any, Dict, MutableMapping, Optional

from mmengine.registry import DefaultScope

from mmdarts.registry import MODELS

# Necks after which the head sees the backbone's channels unchanged.
CHANNEL_KEEPING_NECKS = ('GlobalAveragePooling', )


def _registered(cfg: Any) -> Optional[type]:
    """The class a config's ``type`` names (in mmdarts' scope, which also finds mmpretrain's), or None."""
    kind = cfg.get('type') if isinstance(cfg, dict) else None
    if not isinstance(kind, str):
        return None
    with DefaultScope.overwrite_default_scope('mmdarts'):
        return MODELS.get(kind)


def _fill(head: MutableMapping, key: str, expected: int, field: str, why: str) -> None:
    given = head.get(key)
    if given is None:
        head[key] = expected
    elif given != expected:
        raise ValueError(f'{field}.{key}={given}, but the backbone gives {expected} channels there ({why}); '
                         f'leave {key} out to have it derived, or set it to {expected}')


def complete_head_channels(classifier: MutableMapping, where: str = 'model') -> MutableMapping:
    """Fills the head's ``in_channels`` (and ``aux_in_channels`` for a head that takes it, when the backbone has
    an auxiliary output) from a DARTS backbone's output channels when the config leaves them out, and checks them
    when given. ``classifier`` is an mmpretrain classifier config (``backbone``, ``neck``, ``head``) whose backbone
    is ``DartsSupernet`` or ``DartsNet``; other classifiers, and necks that change channels, are left as they are.

    So shrinking a search is ``base_channels=8 num_layers=5`` and nothing else, and a genotype of 3 nodes retrains
    without a hand-computed head.

    Raises:
        ValueError: naming the field (``{where}.head.in_channels``) and the channels the backbone gives.
    """
    backbone, head, neck = classifier.get('backbone'), classifier.get('head'), classifier.get('neck')
    backbone_cls, head_cls = _registered(backbone), _registered(head)
    if backbone_cls is None or head_cls is None or not hasattr(backbone_cls, 'feature_channels'):
        return classifier
    if neck is not None and str(neck.get('type', '')).split('.')[-1] not in CHANNEL_KEEPING_NECKS:
        return classifier
    args: Dict[str, Any] = {k: v for k, v in backbone.items() if k != 'type'}
    outputs, auxiliary = backbone_cls.feature_channels(**args)
    accepted = inspect.signature(head_cls.__init__).parameters
    field = f'{where}.head'
    if 'in_channels' in accepted:
        _fill(head, 'in_channels', outputs[-1], field, f'the last output of {backbone_cls.__name__}')
    if 'aux_in_channels' in accepted and auxiliary is not None:
        _fill(head, 'aux_in_channels', auxiliary, field, f'the auxiliary output of {backbone_cls.__name__}')
    return classifier
