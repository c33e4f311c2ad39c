"""Precision of a search step under mixed precision (``--amp``): every α pass in float32 without TF32, the weight
pass as the caller set it, and GradScaler deciding about overflows of the scaled weight gradients."""
import os.path as osp
import sys
from unittest.mock import patch

import pytest
import torch
from helpers import REPO, batch, optim_wrappers, raw_batch, sgd, tiny_darts
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from mmdarts.models import Darts
from mmdarts.models.algorithms import float32_is_ieee, full_precision
from mmdarts.testing import alpha_gradient_and_term, precision_report

PASSES = {(False, 'finite_difference'): 1, (True, 'finite_difference'): 4, (True, 'exact'): 2}


def data():
    return dict(train=raw_batch(seed=1), arch=raw_batch(seed=2))


def record_passes(monkeypatch):
    """(autocast on the CPU, float32 as IEEE) seen by every pass of a step, in order."""
    seen = []
    original = Darts.loss_and_log

    def recording(self, *args, **kwargs):
        seen.append((torch.is_autocast_enabled('cpu'), float32_is_ieee()))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Darts, 'loss_and_log', recording)
    return seen


@pytest.mark.parametrize('unroll,hvp', list(PASSES), ids=['first_order', 'finite_difference', 'exact'])
def test_alpha_passes_run_in_float32_and_the_weight_pass_as_the_caller_set_it(monkeypatch, unroll, hvp):
    model = tiny_darts(unroll=unroll)
    model.hvp = hvp
    seen = record_passes(monkeypatch)
    torch.backends.cudnn.conv.fp32_precision = 'tf32'  # torch's default: cuDNN convs may use TF32
    assert not float32_is_ieee()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        model.train_step(data(), optim_wrappers(model))
        assert torch.is_autocast_enabled('cpu')  # the caller's settings are back
    assert torch.backends.cudnn.conv.fp32_precision == 'tf32'
    assert seen == [(False, True)] * PASSES[unroll, hvp] + [(True, False)]


def test_full_precision_restores_the_settings_after_an_error():
    before = {name: getattr(entry, 'fp32_precision') for name, entry in
              (('matmul', torch.backends.cuda.matmul), ('conv', torch.backends.cudnn.conv))}
    with pytest.raises(KeyError), torch.autocast('cpu', dtype=torch.bfloat16):
        with full_precision():
            assert float32_is_ieee() and not torch.is_autocast_enabled('cpu')
            raise KeyError
    assert before == {'matmul': torch.backends.cuda.matmul.fp32_precision,
                      'conv': torch.backends.cudnn.conv.fp32_precision}


def amp_wrappers(model, init_scale):
    """mmengine's AmpOptimWrapper on the CPU: its GradScaler made a CPU one (mmengine's is CUDA's), its autocast
    CPU bfloat16 (mmengine's choice without CUDA)."""
    with patch('mmengine.optim.optimizer.amp_optimizer_wrapper.is_cuda_available', return_value=True):
        weights = AmpOptimWrapper(optimizer=sgd(model), clip_grad=dict(max_norm=5.))
    weights.loss_scaler = torch.amp.GradScaler('cpu', init_scale=init_scale)
    return OptimWrapperDict(architecture=weights, mutator=optim_wrappers(model)['mutator'])


def test_a_scaled_gradient_overflow_is_left_to_grad_scaler():
    """Before: the overflow (normal in AMP's first steps) raised FloatingPointError, or with nonfinite='skip' the
    step was skipped before GradScaler saw it, and its scale never came down."""
    model = tiny_darts(unroll=True)
    wrappers = amp_wrappers(model, init_scale=3e38)  # the scaled loss overflows float32
    weights = [p.detach().clone() for p in model.architecture.parameters()]
    model.train_step(data(), wrappers)
    assert all(torch.equal(a, b) for a, b in zip(weights, model.architecture.parameters()))  # step skipped
    assert wrappers['architecture'].loss_scaler.get_scale() == pytest.approx(1.5e38)  # and the scale lowered
    wrappers['architecture'].loss_scaler.update(2.**10)  # as GradScaler gets after some halvings
    model.train_step(data(), wrappers)  # with a scale that fits, the step goes through
    assert not all(torch.equal(a, b) for a, b in zip(weights, model.architecture.parameters()))


def test_a_non_finite_loss_under_amp_still_stops_the_search(monkeypatch):
    model = tiny_darts(unroll=False)
    original = Darts.loss_and_log
    calls = []

    def poisoned(self, *args, **kwargs):
        loss, log = original(self, *args, **kwargs)
        calls.append(1)
        return (loss * float('nan') if len(calls) == 2 else loss), log

    monkeypatch.setattr(Darts, 'loss_and_log', poisoned)
    with pytest.raises(FloatingPointError, match="non-finite loss of the weight step's L_train"):
        model.train_step(data(), amp_wrappers(model, init_scale=2.**16))


def test_the_alpha_wrapper_may_not_scale():
    model = tiny_darts()
    wrappers = amp_wrappers(model, 1.)
    wrappers = OptimWrapperDict(architecture=OptimWrapper(sgd(model)), mutator=wrappers['architecture'])
    with pytest.raises(ValueError, match='must not be an AmpOptimWrapper'):
        model.train_step(data(), wrappers)


def test_precision_report_at_a_tiny_size_agrees_to_float32():
    """At 4 channels, 3 cells and a few images float32 and float64 agree closely: the report's machinery (twins
    with the same state, the term read where Eq. 7 combines it) adds no error of its own."""
    model = tiny_darts(unroll=True)
    report = precision_report(model, batch(seed=1), batch(seed=2))
    assert set(report) == {'alpha_error_contiguous', 'term_error_contiguous', 'alpha_error_channels_last',
                           'term_error_channels_last', 'floor_alpha', 'floor_term'}
    assert all(value < 1e-4 for value in report.values()), report
    grads, term = alpha_gradient_and_term(model, batch(seed=1), batch(seed=2), sgd(model))
    assert max(float(t.abs().max()) for t in term) > 1e-6  # a real term, read from the real pass sequence


@pytest.mark.cuda
def test_second_order_term_on_cuda_is_at_the_float32_floor():
    """The paper's supernet at batch 64 on a GPU, with TF32 allowed for cuDNN and cuBLAS: the α gradient's
    second-order term against float64 is no worse than two float32 computations differ (measured before the α step
    ran in IEEE float32: 38 % with TF32, 11 % without, on an H200)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmdarts.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_cifar10.py'))
    with DefaultScope.overwrite_default_scope('mmdarts'):
        model = MODELS.build(cfg.model.to_dict()).cuda().train()
    flags = (torch.backends.cudnn.conv, torch.backends.cuda.matmul)
    saved = [flag.fp32_precision for flag in flags]
    try:
        for flag in flags:
            flag.fp32_precision = 'tf32'  # a user who allows TF32 everywhere
        report = precision_report(model, *(cuda_batch(64, seed) for seed in (1, 2)))
    finally:
        for flag, value in zip(flags, saved):
            flag.fp32_precision = value
    sys.stderr.write(f'precision at the paper size on {torch.cuda.get_device_name()}: {report}\n')
    assert report['term_error_contiguous'] < 0.25  # TF32 gave 0.38
    assert report['term_error_contiguous'] < 2 * report['floor_term'] + 0.05


def cuda_batch(n, seed):
    b = batch(n=n, size=32, num_classes=10, seed=seed)
    return dict(inputs=b['inputs'].cuda(), data_samples=[s.to('cuda') for s in b['data_samples']])
