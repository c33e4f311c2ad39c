from typing import Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict, build_optim_wrapper

from mmdarts.models.search import SearchCell
from mmdarts.registry import OPTIM_WRAPPER_CONSTRUCTORS

REQUIRED_KEYS = ('architecture', 'mutator')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DartsOptimWrapperConstructor:
    """Builds an ``OptimWrapperDict`` with one optim wrapper per named submodule of the model.

    For DARTS the keys are ``architecture`` (the supernet weights) and ``mutator`` (α)::

        optim_wrapper = dict(
            constructor='DartsOptimWrapperConstructor',
            architecture=dict(optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
                              clip_grad=dict(max_norm=5)),
            mutator=dict(optimizer=dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)))

    Each value is an ordinary single-optimizer config (``type``, ``optimizer``, ``clip_grad``, ``paramwise_cfg``),
    built by mmengine's ``build_optim_wrapper`` on the submodule of the same name.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg is not None:
            raise ValueError('DartsOptimWrapperConstructor: give paramwise_cfg inside optim_wrapper.architecture or '
                             'optim_wrapper.mutator, not at the top level of optim_wrapper')
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError(f'optim_wrapper must be a dict, got {type(optim_wrapper_cfg).__name__}')
        missing = [k for k in REQUIRED_KEYS if k not in optim_wrapper_cfg]
        if missing:
            raise ValueError(f'optim_wrapper: missing key(s) {missing}; DARTS needs {list(REQUIRED_KEYS)}, one optim '
                             f'wrapper config each (the weights and α), got keys {sorted(optim_wrapper_cfg)}')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            module = getattr(model, name, None)
            if not isinstance(module, nn.Module):
                raise ValueError(f'optim_wrapper.{name}: the model ({type(model).__name__}) has no submodule {name!r}')
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise ValueError(f'optim_wrapper.{name}: expected a dict with an "optimizer", got {cfg!r}')
            wrappers[name] = build_optim_wrapper(module, cfg)
        return DartsOptimWrapperDict(model, **wrappers)


class DartsOptimWrapperDict(OptimWrapperDict):
    """``OptimWrapperDict`` whose ``load_state_dict`` says why a resumed weight optimizer does not fit where the
    cause is the supernet's edge storage (``edge_layout``: a batched cell holds a quarter as many weight tensors;
    'auto' stores batched where CUDA is available, so a search resumed on another kind of machine can differ)."""

    def __init__(self, model: nn.Module, **optim_wrappers):
        super().__init__(**optim_wrappers)
        self._model = model

    def load_state_dict(self, state_dict: dict) -> None:
        try:
            super().load_state_dict(state_dict)
        except ValueError as error:
            cells = [m for m in self._model.modules() if isinstance(m, SearchCell)]
            if not cells or 'size' not in str(error):
                raise
            stored = 'batched' if any(cell.banks is not None for cell in cells) else 'per_edge'
            other = 'per_edge' if stored == 'batched' else 'batched'
            raise ValueError(
                f'resume: the checkpoint\'s optimizer state does not fit this model\'s weights ({error}); this '
                f'supernet stores its edges {stored}, and a checkpoint written by a model that stored them {other} '
                f'holds a different number of weight tensors (edge_layout=\'auto\' stores batched where CUDA is '
                f'available). Resume with --cfg-options model.architecture.backbone.edge_layout={other}; or it was '
                f'written before mmdarts stored a stage\'s depthwise kernels merged (dw2_4_5, Nov 2026): then start '
                f'from its weights with load_from instead of resuming') from error
