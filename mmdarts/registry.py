"""mmdarts' registries: children (scope ``mmdarts``) of every mmpretrain registry, so a config with
``default_scope='mmdarts'`` finds mmpretrain's and mmengine's types as well, and an mmpretrain config can name
``type='mmdarts.X'``."""
from typing import List, Optional

from mmengine.registry import MODEL_WRAPPERS as ENGINE_MODEL_WRAPPERS
from mmengine.registry import Registry
from mmpretrain import registry as pretrain


def _child(parent: Registry, locations: Optional[List[str]] = None) -> Registry:
    return Registry(parent.name, parent=parent, scope='mmdarts', locations=locations or [])


RUNNERS = _child(pretrain.RUNNERS)
RUNNER_CONSTRUCTORS = _child(pretrain.RUNNER_CONSTRUCTORS)
LOOPS = _child(pretrain.LOOPS, ['mmdarts.engine.runners'])
HOOKS = _child(pretrain.HOOKS, ['mmdarts.engine.hooks'])
LOG_PROCESSORS = _child(pretrain.LOG_PROCESSORS)
OPTIMIZERS = _child(pretrain.OPTIMIZERS)
OPTIM_WRAPPERS = _child(pretrain.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(pretrain.OPTIM_WRAPPER_CONSTRUCTORS, ['mmdarts.engine.optimizers'])
PARAM_SCHEDULERS = _child(pretrain.PARAM_SCHEDULERS)
DATASETS = _child(pretrain.DATASETS, ['mmdarts.datasets'])
DATA_SAMPLERS = _child(pretrain.DATA_SAMPLERS)
TRANSFORMS = _child(pretrain.TRANSFORMS)
MODELS = _child(pretrain.MODELS, ['mmdarts.models'])
# A direct child of mmengine's root (mmpretrain adds no wrappers): the Runner looks wrappers up with
# `MODEL_WRAPPERS.get('mmdarts.X')` on the root, which searches only the root's own children.
MODEL_WRAPPERS = _child(ENGINE_MODEL_WRAPPERS, ['mmdarts.engine.model_wrappers'])
WEIGHT_INITIALIZERS = _child(pretrain.WEIGHT_INITIALIZERS)
BATCH_AUGMENTS = _child(pretrain.BATCH_AUGMENTS)
TASK_UTILS = _child(pretrain.TASK_UTILS)
METRICS = _child(pretrain.METRICS)
EVALUATORS = _child(pretrain.EVALUATORS)
VISUALIZERS = _child(pretrain.VISUALIZERS)
VISBACKENDS = _child(pretrain.VISBACKENDS)

# The candidate operations of a search space, looked up by name (``'sep_conv_3x3'``). Each entry is a builder
# ``(channels: int, stride: int, affine: bool, act_cfg: dict) -> nn.Module`` whose output has ``channels`` channels
# and a spatial size divided by ``stride``.
CANDIDATE_OPS = Registry('candidate op', scope='mmdarts', locations=['mmdarts.models.ops'])
