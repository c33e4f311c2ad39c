"""SearchHealthHook: the eigenvalue logged at its interval, the stop rules reported or obeyed, the stopped epoch's
genotype exported, the state kept in the checkpoint, a resumed stopped search trained no further."""
import json
from unittest.mock import MagicMock, patch

import pytest
import torch
from helpers import raw_batch, tiny_darts

from mmdarts.engine import GenotypeExportHook, SearchHealthHook
from mmdarts.engine.hooks import search_health_hook
from mmdarts.models.algorithms.arch_hessian import dominant_arch_eigenvalue
from mmdarts.structures import Genotype


def runner_of(tmp_path, model=None):
    runner = MagicMock()
    runner.model = model if model is not None else tiny_darts()
    runner.work_dir = str(tmp_path)
    runner.train_loop.arch_dataloader = [raw_batch(seed=s) for s in range(3)]
    runner.train_loop.stop_training = False
    runner.optim_wrapper = {}
    return runner


def run_epochs(hook, runner, epochs, before_each=None):
    for epoch in range(epochs):
        if runner.train_loop.stop_training:
            break
        if before_each is not None:
            before_each(epoch)
        runner.epoch = epoch
        hook.after_train_epoch(runner)


def test_the_eigenvalue_every_interval_equals_the_function_on_the_alpha_loaders_first_batches(tmp_path):
    runner = runner_of(tmp_path)
    hook = SearchHealthHook(interval=2, num_batches=2, iterations=5, weight_decay=1e-3)
    run_epochs(hook, runner, 4)
    assert [e for e, _ in hook.eigenvalues] == [2, 4]
    model = runner.model
    batches = [model.data_preprocessor(b, True) for b in runner.train_loop.arch_dataloader[:2]]
    for b in batches:
        b['inputs'] = model.formatted(b['inputs'])
    expected = dominant_arch_eigenvalue(model, batches, 5, 1e-3)
    assert hook.eigenvalues[-1][1] == pytest.approx(expected, rel=1e-5)
    runner.visualizer.add_scalars.assert_any_call({'health/hessian_eigenvalue': hook.eigenvalues[-1][1]}, step=4)
    logged = ' '.join(str(c.args[0]) for c in runner.logger.info.call_args_list)
    assert 'Epoch 4: dominant eigenvalue of the Hessian of L_val w.r.t. α' in logged
    assert (tmp_path / 'search_health.png').stat().st_size > 0  # the eigenvalues and skip connections by epoch
    assert runner.visualizer.add_image.call_args.args[0] == 'search_health'


def genotype_changer(model):
    def change(epoch):  # a different α, so a different genotype, each epoch
        torch.manual_seed(epoch)
        with torch.no_grad():
            for alpha in model.mutator.parameters():
                alpha.normal_()
    return change


@pytest.mark.parametrize('stop,out_dir', [(True, None), (True, 'export'), (False, None)],
                         ids=['stop', 'stop_export_out_dir', 'report'])
def test_darts_es_stops_the_search_and_keeps_its_epochs_genotype(tmp_path, stop, out_dir):
    runner = runner_of(tmp_path)
    if out_dir is not None:  # the kept genotype goes where GenotypeExportHook writes genotype.json
        runner.hooks = [GenotypeExportHook(out_dir=str(tmp_path / out_dir))]
        (tmp_path / out_dir).mkdir()
    values = iter([1.0] * 11 + [2.6] + [3.0] * 10)  # fires at the 12th evaluation: epoch 24, keeping epoch 12
    hook = SearchHealthHook(interval=2, stop_rules=dict(darts_es=dict()), stop=stop)
    genotypes = {}

    def before_each(epoch):
        genotype_changer(runner.model)(epoch)
        genotypes[epoch + 1] = runner.model.mutator.derive_genotype()

    with patch.object(search_health_hook, 'dominant_arch_eigenvalue', side_effect=lambda *a: next(values)), \
            patch.object(SearchHealthHook, '_draw'):  # the picture: tested above
        run_epochs(hook, runner, 30, before_each)
    assert runner.train_loop.stop_training is stop
    assert hook.fired['darts_es'].epoch == 12
    assert len(hook.genotypes) == (24 if stop else 30)
    warning = runner.logger.warning.call_args_list[0].args[0]
    assert warning.startswith('Epoch 24: stop rule darts_es fires: the eigenvalue averaged around epoch 20')
    hook.after_train(runner)
    summary = runner.logger.info.call_args_list[-1].args[0]
    # the summary's advice names genotype_epoch_12.json: written, as no export wrote epoch 12
    assert 'consider the genotype of epoch 12 (genotype_epoch_12.json)' in summary
    written = json.loads((tmp_path / (out_dir or '') / 'genotype_epoch_12.json').read_text())
    assert written.pop('meta')['epoch'] == 12 and written == genotypes[12].to_dict()
    if stop:
        written = json.loads((tmp_path / (out_dir or '') / 'genotype.json').read_text())
        assert written.pop('meta')['epoch'] == 12 and written == genotypes[12].to_dict()
        assert 'darts_es: stopped the search at the genotype of epoch 12' in summary
        runner.message_hub.update_info.assert_any_call('genotype_kept_epoch', 12)  # for GenotypeExportHook's
    else:
        assert not (tmp_path / 'genotype.json').exists()
        assert 'darts_es: would have stopped at the genotype of epoch 12' in summary


def test_the_checkpoint_keeps_the_health_and_a_stopped_search_resumes_stopped(tmp_path):
    runner = runner_of(tmp_path)
    hook = SearchHealthHook(interval=1, iterations=2, stop_rules=dict(genotype_unchanged=dict(epochs=2)),
                            stop=True)
    run_epochs(hook, runner, 5)  # α unchanged: the genotype too, so the rule fires at epoch 3
    assert hook.stopped.rule == 'genotype_unchanged' and hook.stopped.epoch == 3
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    resumed_runner = runner_of(tmp_path, runner.model)
    resumed = SearchHealthHook(interval=1, iterations=2, stop_rules=dict(genotype_unchanged=dict(epochs=2)),
                               stop=True)
    resumed.after_load_checkpoint(resumed_runner, checkpoint)
    assert resumed.eigenvalues == hook.eigenvalues and resumed.stopped == hook.stopped
    assert [g for _, g in resumed.genotypes] == [g for _, g in hook.genotypes]
    resumed.before_train(resumed_runner)
    assert resumed_runner.train_loop.stop_training is True
    assert 'This search had stopped: rule genotype_unchanged' in resumed_runner.logger.warning.call_args.args[0]


def test_the_summary_advises_on_a_collapsed_normal_cell(tmp_path):
    model = tiny_darts()
    with torch.no_grad():  # skip_connect dominates every normal-cell edge
        model.mutator.alphas['normal'][:, model.mutator.primitives.index('skip_connect')] = 5.0
    runner = runner_of(tmp_path, model)
    hook = SearchHealthHook(interval=1, iterations=2, stop_rules=dict(darts_plus=dict(earliest_epoch=1)))
    run_epochs(hook, runner, 1)
    summary = hook.summary()
    assert 'skip connections: normal cell 4 of 4 edges' in summary
    assert 'darts_plus: would have stopped at the genotype of epoch 1' in summary
    assert 'Advice: 4 of 4 normal-cell edges are skip_connect; consider the genotype of epoch 1' in summary


def test_arguments_are_checked():
    with pytest.raises(ValueError, match='interval must be an integer >= 1'):
        SearchHealthHook(interval=0)
    with pytest.raises(ValueError, match="unknown stop_rules \\['darts_minus'\\]"):
        SearchHealthHook(stop_rules=dict(darts_minus=dict()))


def test_genotypes_round_trip_through_the_checkpoint_dict():
    g = tiny_darts().mutator.derive_genotype()
    assert Genotype.from_dict(g.to_dict()) == g
