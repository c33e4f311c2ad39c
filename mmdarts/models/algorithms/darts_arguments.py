"""What :class:`~mmdarts.models.algorithms.Darts` checks and builds from its arguments: its options, the classifier
it searches, the optim wrappers of a step."""
import copy
from typing import Optional, Tuple, Union

import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict
from mmengine.registry import DefaultScope

from mmdarts.registry import MODELS

from ..utils import complete_head_channels

OPTIONS = dict(hvp=('finite_difference', 'exact'), memory_format=('auto', 'channels_last', 'contiguous'),
               nonfinite=('raise', 'skip'))


def check_options(**options: str) -> None:
    """Each option must be one of its :data:`OPTIONS`; the error names it and what it may be."""
    for name, value in options.items():
        if value not in OPTIONS[name]:
            *first, last = map(repr, OPTIONS[name])
            raise ValueError(f"Darts: {name} must be {', '.join(first)} or {last}, got {value!r}")


def build_architecture(architecture: Union[dict, nn.Module], data_preprocessor: Optional[dict]) -> nn.Module:
    """The classifier a config describes (its head's ``in_channels`` derived from the supernet when left out,
    checked when given; a top-level ``data_preprocessor``, mmpretrain's habit, reaching it), or the module given;
    either must have a backbone."""
    if isinstance(architecture, dict):
        architecture = complete_head_channels(copy.deepcopy(architecture), 'model.architecture')
        if data_preprocessor is not None:
            architecture.setdefault('data_preprocessor', data_preprocessor)
        # mmdarts scope: the classifier's own builds (backbone, head) then find mmdarts and mmpretrain types.
        with DefaultScope.overwrite_default_scope('mmdarts'):
            architecture = MODELS.build(architecture)
    elif data_preprocessor is not None:
        raise ValueError('Darts: give data_preprocessor inside the architecture config when the architecture '
                         'is an already built module')
    if not hasattr(architecture, 'backbone'):
        raise TypeError(f'Darts: architecture must be a classifier with a supernet backbone (e.g. mmpretrain '
                        f'ImageClassifier with mmdarts.DartsSupernet), got {type(architecture).__name__}')
    return architecture


def check_step_inputs(data: dict, optim_wrapper: OptimWrapperDict) -> Tuple[OptimWrapper, OptimWrapper]:
    """The weights' and α's optim wrappers of a step, or an error saying what ``train_step`` needs."""
    if not isinstance(data, dict) or not {'train', 'arch'} <= set(data):
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f'Darts.train_step: data must be dict(train=batch, arch=batch) (the DartsSearchLoop '
                         f'gives this), got {got}')
    keys = set(optim_wrapper.keys()) if isinstance(optim_wrapper, OptimWrapperDict) else None
    if keys is None or not {'architecture', 'mutator'} <= keys:
        raise ValueError('Darts.train_step: optim_wrapper must be an OptimWrapperDict with keys "architecture" '
                         f'(weights) and "mutator" (α), got {sorted(keys) if keys else type(optim_wrapper)}; '
                         "build it with optim_wrapper=dict(constructor='DartsOptimWrapperConstructor', "
                         'architecture=dict(...), mutator=dict(...))')
    if isinstance(optim_wrapper['mutator'], AmpOptimWrapper):
        raise ValueError('Darts: the mutator (α) optim wrapper must not be an AmpOptimWrapper: its gradients are '
                         'computed unscaled. Use AMP for the "architecture" wrapper only.')
    return optim_wrapper['architecture'], optim_wrapper['mutator']
