import pytest
import torch
from helpers import tiny_darts
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import DefaultScope

CFG = dict(
    constructor='DartsOptimWrapperConstructor',
    architecture=dict(optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
                      clip_grad=dict(max_norm=5.)),
    mutator=dict(optimizer=dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)))


def build(model, cfg):
    with DefaultScope.overwrite_default_scope('mmdarts'):
        return build_optim_wrapper(model, cfg)


def test_one_wrapper_per_submodule():
    model = tiny_darts()
    wrappers = build(model, dict(CFG))
    assert isinstance(wrappers, OptimWrapperDict) and set(wrappers.keys()) == {'architecture', 'mutator'}
    arch_params = {id(p) for g in wrappers['architecture'].optimizer.param_groups for p in g['params']}
    alpha_params = {id(p) for g in wrappers['mutator'].optimizer.param_groups for p in g['params']}
    assert arch_params == {id(p) for p in model.architecture.parameters()}
    assert alpha_params == {id(p) for p in model.mutator.parameters()}
    assert wrappers['mutator'].optimizer.defaults['betas'] == (0.5, 0.999)
    assert wrappers['architecture'].clip_grad_kwargs == dict(max_norm=5.)


def test_missing_key_is_named():
    cfg = dict(CFG)
    cfg.pop('mutator')
    with pytest.raises(ValueError, match=r"missing key\(s\) \['mutator'\]"):
        build(tiny_darts(), cfg)


def test_unknown_submodule_is_named():
    with pytest.raises(ValueError, match="optim_wrapper.teacher: the model .* has no submodule 'teacher'"):
        build(tiny_darts(), dict(CFG, teacher=dict(optimizer=dict(type='SGD', lr=0.1))))


def test_resuming_an_optimizer_of_the_other_edge_storage_says_which_layout_to_use():
    """A search stored batched (a GPU's 'auto') resumed on a model storing its edges per edge (a CPU's 'auto'):
    the model's weights convert, the optimizer's state cannot (a different number of tensors); the error names
    the layout to resume with."""
    models = [tiny_darts(edge_layout=layout) for layout in ('batched', 'per_edge')]
    wrappers = [build(model, dict(CFG)) for model in models]
    for p in models[0].parameters():
        p.grad = torch.ones_like(p)
    wrappers[0]['architecture'].step()  # momentum buffers exist
    models[1].load_state_dict(models[0].state_dict())  # the weights convert
    with pytest.raises(ValueError, match="stores its edges per_edge.*edge_layout=batched"):
        wrappers[1].load_state_dict(wrappers[0].state_dict())
    wrappers[0].load_state_dict(wrappers[0].state_dict())  # the same layout loads
