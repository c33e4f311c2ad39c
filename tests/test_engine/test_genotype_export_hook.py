import json
from unittest.mock import MagicMock, patch

import pytest
import torch
from helpers import tiny_darts

from mmdarts.engine import GenotypeExportHook
from mmdarts.engine.hooks.genotype_export_hook import op_weight_spread


def runner_at(tmp_path, epoch, max_epochs=10):
    runner = MagicMock()
    runner.model = tiny_darts()
    runner.work_dir = str(tmp_path)
    runner.epoch, runner.max_epochs, runner.train_loop.max_epochs = epoch, max_epochs, max_epochs
    runner.train_loop.stop_training = False
    return runner


def test_writes_epoch_file_latest_file_and_logs(tmp_path):
    runner = runner_at(tmp_path, epoch=0)
    GenotypeExportHook().after_train_epoch(runner)
    data = json.loads((tmp_path / 'genotype_epoch_1.json').read_text())
    assert data == json.loads((tmp_path / 'genotype.json').read_text())
    assert data['normal'] == [list(e) for e in runner.model.mutator.derive_genotype().normal]
    logged = ' '.join(str(c.args[0]) for c in runner.logger.info.call_args_list)
    assert 'Genotype(' in logged and 'softmax(alpha) of the reduce cell' in logged


def test_interval_and_last_epoch(tmp_path):
    hook = GenotypeExportHook(interval=3, draw=False)
    for epoch in range(10):
        hook.after_train_epoch(runner_at(tmp_path, epoch))
    assert sorted(p.name for p in tmp_path.glob('genotype_epoch_*.json')) == [
        'genotype_epoch_10.json', 'genotype_epoch_3.json', 'genotype_epoch_6.json', 'genotype_epoch_9.json']
    runner = runner_at(tmp_path, 9)
    hook.after_train(runner)
    assert '(epoch 10; every 3 epochs and the last in genotype_epoch_{N}.json)' in runner.logger.info.call_args.args[0]


def test_only_the_main_process_writes(tmp_path):
    with patch('mmdarts.engine.hooks.genotype_export_hook.is_main_process', return_value=False):
        GenotypeExportHook().after_train_epoch(runner_at(tmp_path, epoch=0))
    assert not list(tmp_path.iterdir())


def test_op_weight_spread():
    uniform = torch.full((5, 8), 0.125)
    assert op_weight_spread({'normal': uniform, 'reduce': uniform}) == 0
    decided = uniform.clone()
    decided[2, :2] = torch.tensor([0.15, 0.10])  # one edge: 0.05 apart around a mean of 0.125
    assert op_weight_spread({'normal': uniform, 'reduce': decided}) == pytest.approx(0.4)


@pytest.mark.parametrize('moved', [False, True])
def test_the_end_of_search_summary(tmp_path, moved):
    runner = runner_at(tmp_path, epoch=4)
    with torch.no_grad():
        for alpha in runner.model.mutator.parameters():
            alpha.copy_(torch.randn_like(alpha) * (1. if moved else 1e-3))
    hook = GenotypeExportHook(draw=False)
    hook.after_train_epoch(runner)
    hook.after_val_epoch(runner, {'accuracy/top1': 71.5})
    hook.after_train(runner)
    summary = runner.logger.info.call_args_list[-1].args[0]
    assert f'Genotype: {tmp_path / "genotype.json"} (epoch 5; every epoch in genotype_epoch_{{N}}.json)' in summary
    assert "the α half in the CIFAR search configs): {'accuracy/top1': 71.5}" in summary
    assert runner.logger.warning.called is not moved
    if not moved:
        assert 'α is still nearly uniform after 5 epochs' in runner.logger.warning.call_args.args[0]


def test_the_logged_tables_and_the_heatmaps_name_edges_alike(tmp_path):
    """One naming, c_{k-2}→0 (the inputs as the paper names them, the node by index): in the log's α table as text,
    on the heatmap as mathtext (subscripts drawn, no braces); the genotype's state numbers explained in the log."""
    from mmdarts.structures import edge_names
    from mmdarts.visualization.alpha_plots import draw_heatmap
    runner = runner_at(tmp_path, epoch=0)
    GenotypeExportHook(draw=False).after_train_epoch(runner)
    logged = [str(c.args[0]) for c in runner.logger.info.call_args_list if 'of the normal cell' in str(c.args[0])]
    rows = [line.split()[0] for line in logged[0].splitlines()[2:]]
    assert rows == edge_names(2) == ['c_{k-2}→0', 'c_{k-1}→0', 'c_{k-2}→1', 'c_{k-1}→1', '0→1']
    assert "the genotype's states 0, 1, node i its state i+2" in logged[0]
    figure = draw_heatmap(torch.full((5, 8), 0.125).numpy(), [f'op{i}' for i in range(8)], 2, 'uniform')
    ticks = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert ticks == ['$c_{k-2}$→0', '$c_{k-1}$→0', '$c_{k-2}$→1', '$c_{k-1}$→1', '0→1']


def test_the_summary_names_the_epoch_a_stop_rule_kept(tmp_path):
    runner = runner_at(tmp_path, epoch=4)
    runner.message_hub.get_info.side_effect = lambda key: 3 if key == 'genotype_kept_epoch' else None
    hook = GenotypeExportHook(draw=False)
    hook.after_train_epoch(runner)
    hook.after_train(runner)
    assert f'Genotype: {tmp_path / "genotype.json"} (epoch 3;' in runner.logger.info.call_args_list[-1].args[0]


def test_a_stopped_search_exports_its_last_epoch_and_names_pictures_that_exist(tmp_path):
    """Interval 3, a stop rule ends the search after epoch 5 keeping epoch 4: epoch 5 is exported (the last
    trained), and the summary's pictures are those of epoch 5, as epoch 4 was not drawn."""
    hook = GenotypeExportHook(interval=3)
    for epoch in range(5):
        runner = runner_at(tmp_path, epoch)
        runner.train_loop.stop_training = epoch == 4
        hook.after_train_epoch(runner)
    assert sorted(p.name for p in tmp_path.glob('genotype_epoch_*.json')) == [
        'genotype_epoch_3.json', 'genotype_epoch_5.json']
    runner.message_hub.get_info.side_effect = lambda key: 4 if key == 'genotype_kept_epoch' else None
    hook.after_train(runner)
    summary = runner.logger.info.call_args_list[-1].args[0]
    assert '(epoch 4; every 3 epochs and the last' in summary
    assert f'Pictures (epoch 5): {tmp_path / "genotype_epoch_5_{normal,reduce}.png"}' in summary
    assert (tmp_path / 'genotype_epoch_5_normal.png').exists() and not (tmp_path / 'alpha_epoch_4_normal.png').exists()
