"""The captured (CUDA-graph) search step against the eager one: the same updates, step after step.

On CPU the graph path runs with :class:`OpReplayPass`, which keeps a graph's contract (the recorded calls replayed
with their recorded arguments on fixed memory, host synchronisations refused); on CUDA (``make test-gpu``) with
real graphs. Compared in float64, where
the only difference of the two paths (ξ as a tensor: a product and a difference instead of one fused add) is
far below the tolerance.
"""
import copy
from unittest.mock import patch

import pytest
import torch
from helpers import batch, optim_wrappers, sgd, tiny_architecture, tiny_darts
from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict
from mmpretrain.structures import DataSample
from search_helpers import assert_same_state, on, twin_searches

from mmdarts.models import Darts
from mmdarts.models.algorithms.captured_passes import PassCapturer, batch_labels, batch_signature, relabeled
from mmdarts.testing import OpReplayPass

MODES = [(True, 'finite_difference'), (True, 'exact'), (False, 'finite_difference')]
MODE_IDS = ['second_order', 'exact_hvp', 'first_order']


@pytest.mark.parametrize('unroll,hvp', [pytest.param(*MODES[1], marks=pytest.mark.slow) if mode == MODES[1] else mode
                                        for mode in MODES], ids=MODE_IDS)  # exact HVP: batched below, here slow
def test_rerun_capture_equals_eager_search(unroll, hvp):
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    eager, captured = twin_searches(unroll, hvp, capturer=capturer)
    assert_same_state(eager, captured)
    # α step recaptured once its momentum buffers exist (second order); the weight step captured once
    assert capturer.captures == 2 and capturer.all_captured()


@pytest.mark.parametrize('unroll,hvp', MODES[:2], ids=MODE_IDS[:2])
def test_rerun_capture_of_batched_cells_equals_eager_search(unroll, hvp):
    """The batched edges (what CUDA runs by default) keep a graph's contract: no host syncs, nothing baked in."""
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    model = tiny_darts(unroll=unroll, dtype=torch.float64, edge_layout='batched', nodes=3)
    model.memory_format = 'contiguous'  # as on a GPU: Eq. 8's passes as one twin pass (second order)
    eager, captured = twin_searches(unroll, hvp, capturer=capturer, model=model)
    assert_same_state(eager, captured)
    assert capturer.captures == 2 and capturer.all_captured()
    assert all(cell._plans for cell in captured.architecture.backbone.cells)


def test_a_smaller_last_batch_keeps_the_full_size_graph():
    """An epoch's last batch is smaller: it warms up (and later gets) its own graph; the full-size one stays."""
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    sizes = [6, 6, 6, 4, 6, 6, 4, 6, 4]
    eager, captured = twin_searches(True, 'finite_difference', capturer=capturer, steps=len(sizes), sizes=sizes,
                                    edge_layout='batched')  # as on a GPU
    assert_same_state(eager, captured)
    assert capturer.captures == 4  # each pass at both sizes, none captured twice
    assert all(len(entries) == 2 for entries in capturer._passes.values())


def variant_darts(mutator: dict, backbone: dict = {}, regularizers=()) -> Darts:
    architecture = tiny_architecture(edge_layout='batched')  # as on a GPU
    architecture['backbone'].update(backbone)
    model = Darts(architecture=architecture, mutator=dict(type='DiffMutator', **mutator), unroll=True,
                  arch_regularizers=list(regularizers))
    with torch.no_grad():
        for alpha in model.mutator.parameters():
            alpha.normal_(0, 0.5)
    return model.to(torch.float64).train()


@pytest.mark.parametrize('mutator,backbone,regularizers', [
    (dict(weighting='sigmoid'), {}, [dict(type='ZeroOneLoss')]),  # Fair DARTS
    (dict(edge_normalization=True), dict(partial_channels=2), []),  # PC-DARTS
    ({}, {}, [dict(type='BetaDecay', max_weight=5., ramp_epochs=2)]),  # β-DARTS, its weight read from the epoch
], ids=['fair_darts', 'pc_darts', 'beta_darts'])
def test_rerun_capture_equals_eager_for_variants(mutator, backbone, regularizers):
    hub = MessageHub.get_instance('test_captured_variants')
    hub.update_info('epoch', 1)
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    eager, captured = twin_searches(True, 'finite_difference', capturer=capturer,
                                    model=variant_darts(mutator, backbone, regularizers))
    assert_same_state(eager, captured)
    assert capturer.captures == 2


def test_resumed_optimizer_state_is_captured_again():
    """Loading the optimizer's state (a resume) brings new momentum buffers: the α pass must read those."""

    def resume(step, data, models, wrappers):
        if step == 3:
            for wrapper in wrappers:
                optimizer = wrapper['architecture'].optimizer
                state = copy.deepcopy(optimizer.state_dict())
                for value in state['state'].values():
                    value['momentum_buffer'].mul_(0.5)  # a checkpoint's buffers: new tensors, other values
                optimizer.load_state_dict(state)

    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    eager, captured = twin_searches(True, 'finite_difference', capturer=capturer, steps=6, event=resume,
                                    edge_layout='batched')  # as on a GPU
    assert_same_state(eager, captured)
    assert capturer.captures == 3  # the α pass once more


def test_skipped_non_finite_steps_match_eager():
    """Darts(nonfinite='skip') on replayed passes: a NaN batch is skipped by both searches, which stay equal."""

    def poison(step, data, models, wrappers):
        for model in models:
            model.nonfinite = 'skip'
        if step in (3, 5):
            data['arch']['inputs'][0, 0, 0, 0] = float('nan')

    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    eager, captured = twin_searches(True, 'finite_difference', capturer=capturer, steps=7, event=poison,
                                    edge_layout='batched')  # as on a GPU
    assert_same_state(eager, captured)
    assert all(torch.isfinite(p).all() for p in captured.parameters())


def amp_wrappers(model):
    """mmengine's AmpOptimWrapper on the CPU (its autocast CPU bfloat16), with a CPU GradScaler."""
    with patch('mmengine.optim.optimizer.amp_optimizer_wrapper.is_cuda_available', return_value=True):
        weights = AmpOptimWrapper(optimizer=sgd(model), clip_grad=dict(max_norm=5.))
    weights.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.**10, growth_interval=2)
    return OptimWrapperDict(architecture=weights, mutator=optim_wrappers(model)['mutator'])


def test_amp_weight_step_is_captured_with_its_scale_read_from_memory():
    """Under AMP the weight pass runs in autocast and its loss is scaled by GradScaler's scale, which grows every
    second step here: the replayed pass reads the scale of the moment, so both searches stay equal."""
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    eager, captured = twin_searches(False, 'finite_difference', capturer=capturer, steps=6,
                                    wrappers_of=amp_wrappers, dtype=torch.float32, tol=1e-5)
    assert_same_state(eager, captured, tol=1e-5)
    assert capturer.captures == 2 and capturer.all_captured()


def test_a_resumed_or_replaced_grad_scaler_is_read_by_the_replayed_pass():
    """Loading GradScaler's state (a resume) fills its scale tensor in place: the replayed weight pass reads the new
    scale from memory. A GradScaler replaced (a copy with a checkpoint's state) makes a new scale tensor at its first
    use: that step runs eagerly (the tensor is not made inside a graph), then the pass is captured anew."""

    def resume(step, data, models, wrappers):
        for wrapper in wrappers:
            scaler = wrapper['architecture'].loss_scaler
            if step in (3, 5):
                state = scaler.state_dict()
                state['scale'] *= 4.  # a checkpoint's scale
                scaler.load_state_dict(state)
            if step == 5:
                wrapper['architecture'].loss_scaler = copy.deepcopy(scaler)

    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    eager, captured = twin_searches(False, 'finite_difference', capturer=capturer, steps=8, event=resume,
                                    wrappers_of=amp_wrappers, dtype=torch.float32, tol=1e-5)
    assert_same_state(eager, captured, tol=1e-5)
    assert capturer.captures == 3 and capturer.all_captured()  # the weight pass once more, after step 5


def test_gdas_recaptures_when_the_temperature_moves():
    """GDAS bakes τ (a Python float) into the captured passes, as a CUDA graph would (OpReplayPass bakes scalars
    in alike): a new τ, new graphs. The Gumbel draws of a replay are not the eager run's, so only the graphs are
    counted (the CUDA test below does the same)."""
    model = tiny_darts(unroll=True)
    model.mutator.weighting = 'gumbel'
    model.pass_capturer = PassCapturer(warmup=1, backend=OpReplayPass, on_error='raise')
    wrappers = optim_wrappers(model)
    for step in range(5):  # α's pass is captured at step 2 (step 1 brought momentum buffers), the weights' at 1
        if step == 3:
            model.mutator.tau = 5.  # what GumbelTemperatureHook does at an epoch's start
        model.train_step(dict(train=batch(seed=2 * step), arch=batch(seed=2 * step + 1)), wrappers)
    assert model.pass_capturer.captures == 4 and model.pass_capturer.all_captured()  # both again at step 4


def test_no_capture_on_cpu_or_when_turned_off():
    model = tiny_darts(unroll=True)
    wrappers = optim_wrappers(model)
    model.train_step(dict(train=batch(), arch=batch(seed=1)), wrappers)
    assert model.pass_capturer is None  # cuda_graphs=True is ignored on CPU
    assert model._capturer(dict(inputs=torch.zeros(1, device='meta'))) is None


class FailingCapture:

    def __init__(self, fn, inputs, pool=None):
        raise RuntimeError('operation not permitted when stream is capturing')


def test_a_capture_that_fails_runs_eagerly_or_raises():
    capturer = PassCapturer(warmup=1, backend=FailingCapture)
    calls = []
    for _ in range(3):
        assert capturer.run('α step', 'same', lambda x: calls.append(1) or x * 2, [torch.ones(2)]).sum() == 4
    assert len(calls) == 3 and capturer.captures == 0
    with pytest.raises(RuntimeError, match='capturing the α step pass as a CUDA graph failed.*cuda_graphs=False'):
        strict = PassCapturer(warmup=0, backend=FailingCapture, on_error='raise')
        strict.run('α step', 'same', lambda x: x, [torch.ones(2)])


def test_capturer_arguments_are_checked():
    with pytest.raises(ValueError, match="on_error must be 'eager' or 'raise', got 'skip'"):
        PassCapturer(on_error='skip')
    with pytest.raises(ValueError, match='warmup >= 0 and keep >= 1, got warmup=2, keep=0'):
        PassCapturer(keep=0)


def test_captured_outputs_are_overwritten_in_place():
    capturer = PassCapturer(warmup=1, backend=OpReplayPass)
    outs = [capturer.run('p', 's', lambda x: [x * 2], [torch.full((2, ), float(v))]) for v in (1, 2, 3)]
    assert outs[1] is outs[2] and outs[2][0].tolist() == [6., 6.]  # the graph's memory, not a fresh tensor
    assert outs[0][0].tolist() == [2., 2.]  # the eager warm-up's own result


def test_batch_labels_and_relabeled_samples():
    data = batch(4, seed=3)
    field, labels = batch_labels(data)
    assert field == 'gt_label' and labels.tolist() == [int(s.gt_label) for s in data['data_samples']]
    static = torch.zeros(4, dtype=torch.long)
    moved = relabeled(data, data['inputs'], static)
    static.copy_(labels)  # what a replay's input copy does
    assert [int(s.gt_label) for s in moved['data_samples']] == labels.tolist()
    scores = dict(inputs=data['inputs'], data_samples=[DataSample().set_gt_score(torch.rand(5)) for _ in range(4)])
    assert batch_labels(scores)[0] == 'gt_score' and batch_labels(scores)[1].shape == (4, 5)
    multi = dict(inputs=data['inputs'], data_samples=[DataSample().set_gt_label([0, 1]) for _ in range(4)])
    assert batch_labels(multi) is None and batch_signature(multi) is None  # runs eagerly


@pytest.mark.cuda
@pytest.mark.parametrize('unroll,hvp', MODES, ids=MODE_IDS)
def test_cuda_graph_search_equals_eager(unroll, hvp):
    capturer = PassCapturer(on_error='raise')
    eager, captured = twin_searches(unroll, hvp, device='cuda', capturer=capturer, steps=7)
    assert_same_state(eager, captured)
    assert capturer.captures == 2


@pytest.mark.cuda
def test_cuda_graph_gdas_search_recaptures_when_the_temperature_moves():
    """GDAS samples inside the captured α pass (a fresh draw at each replay) and bakes τ in: a new τ, a new graph."""
    model = tiny_darts(unroll=True).cuda()
    model.mutator.weighting = 'gumbel'
    model.pass_capturer = PassCapturer(on_error='raise')
    wrappers = optim_wrappers(model)
    start = [a.detach().clone() for a in model.mutator.parameters()]
    for step in range(10):
        if step == 6:
            model.mutator.tau = 5.  # what GumbelTemperatureHook does at an epoch's start
        data = dict(train=on('cuda', batch(seed=2 * step)), arch=on('cuda', batch(seed=2 * step + 1)))
        model.train_step(data, wrappers)
    assert model.pass_capturer.captures == 4  # α and weight step, then both again for the new τ
    assert all(torch.isfinite(a).all() and not torch.equal(a, b) for a, b in zip(model.mutator.parameters(), start))
