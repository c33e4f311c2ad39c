import json
import os.path as osp
from unittest.mock import MagicMock

import numpy as np
import pytest
from helpers import REPO, load_tool, run_python, tiny_darts
from mmengine.visualization import LocalVisBackend, Visualizer

from mmdarts.engine import GenotypeExportHook
from mmdarts.structures import PUBLISHED_GENOTYPES, Genotype, load_genotype
from mmdarts.visualization import draw_cell, draw_heatmap, save_figure, state_name, update_history

OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3',
       'dil_conv_5x5']


@pytest.mark.parametrize('name', sorted(PUBLISHED_GENOTYPES))
@pytest.mark.parametrize('cell', ['normal', 'reduce'])
def test_diagram_edges_match_the_genotype(name, cell):
    genotype = load_genotype(name)
    _, drawn = draw_cell(genotype, cell)
    expected = [(state_name(j), str(k // 2), op) for k, (op, j) in enumerate(getattr(genotype, cell))]
    expected += [(state_name(s), 'c_{k}', '') for s in getattr(genotype, f'{cell}_concat')]
    assert drawn == expected


def test_pictures_are_written_with_sane_sizes(tmp_path):
    figure, _ = draw_cell(load_genotype('DARTS_V2'))
    paths = save_figure(figure, str(tmp_path / 'cell'))
    assert [osp.basename(p) for p in paths] == ['cell.png', 'cell.svg']
    assert 5_000 < osp.getsize(paths[0]) < 2_000_000
    assert open(paths[1]).read().lstrip().startswith('<?xml') and 'sep_conv_3x3' in open(paths[1]).read()
    heatmap = draw_heatmap(np.full((14, 8), 1 / 8), OPS, 4, 'uniform')
    (png, ) = save_figure(heatmap, str(tmp_path / 'heat'), ('png', ))
    assert 5_000 < osp.getsize(png) < 2_000_000


def test_history_survives_a_resume(tmp_path):
    w = {cell: np.full((5, 8), 0.125) for cell in ('normal', 'reduce')}
    for epoch in (1, 2, 3):
        update_history(str(tmp_path), epoch, w, OPS)
    history = update_history(str(tmp_path), 3, w, OPS)  # a resumed run redoes epoch 3
    assert history['epochs'] == [1, 2, 3] and len(history['normal']) == 3


def test_hook_sends_pictures_and_scalars_to_the_visualizer(tmp_path):
    visualizer = Visualizer(name='mmdarts_test_vis', vis_backends=[dict(type='LocalVisBackend')],
                            save_dir=str(tmp_path / 'vis'))
    runner = MagicMock()
    runner.model = tiny_darts()
    runner.work_dir = str(tmp_path)
    runner.epoch, runner.max_epochs = 0, 5
    runner.visualizer = visualizer
    GenotypeExportHook().after_train_epoch(runner)
    for name in ('genotype_epoch_1_normal.png', 'genotype_epoch_1_reduce.svg', 'alpha_epoch_1_normal.png',
                 'alpha_evolution_reduce.png', 'alpha_history.json'):
        assert osp.getsize(tmp_path / name) > 0, name
    backend = visualizer.get_backend('LocalVisBackend')
    assert isinstance(backend, LocalVisBackend)
    images = sorted(p.name for p in (tmp_path / 'vis' / 'vis_data' / 'vis_image').iterdir())
    assert {'genotype_normal_1.png', 'alpha_reduce_1.png', 'alpha_evolution_normal_1.png'} <= set(images)
    scalars = [json.loads(line) for line in open(tmp_path / 'vis' / 'vis_data' / 'scalars.json')]
    totals = {k: v for s in scalars for k, v in s.items() if k.startswith('arch/normal/')}
    assert set(totals) == {f'arch/normal/{op}' for op in OPS}
    assert abs(sum(totals.values()) - 5) < 1e-4  # 5 edges, each op weights summing to 1


@pytest.mark.slow  # end-to-end runs of the tools in fresh interpreters: `make test-slow`
def test_tools_plot_and_export(tmp_path):
    result = run_python([osp.join(REPO, 'tools/plot_genotype.py'), 'DARTS_V1', '--out', str(tmp_path / 'plot')])
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / 'plot').iterdir()) == [
        'DARTS_V1_normal.png', 'DARTS_V1_normal.svg', 'DARTS_V1_reduce.png', 'DARTS_V1_reduce.svg']

    import torch
    model = tiny_darts()
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 4}}, str(tmp_path / 'epoch_4.pth'))
    config = tmp_path / 'cfg.py'
    config.write_text(f"model = dict(architecture=dict(backbone=dict(primitives={OPS!r})))\n")
    result = run_python([osp.join(REPO, 'tools/export_genotype.py'), str(tmp_path / 'epoch_4.pth'), '--out',
                         str(tmp_path / 'export'), '--config', str(config)])
    assert result.returncode == 0, result.stderr[-2000:]
    exported = Genotype.from_file(str(tmp_path / 'export' / 'genotype.json'))
    assert exported == model.mutator.derive_genotype() and exported.meta['epoch'] == 4
    assert (tmp_path / 'export' / 'genotype_epoch_4_normal.svg').is_file()


def test_export_follows_the_searched_mutator(tmp_path):
    """A checkpoint of a search with PC-DARTS's β and Fair DARTS's rule exports that search's genotype."""
    import torch
    from helpers import tiny_architecture

    from mmdarts.models import Darts
    mutator = dict(type='DiffMutator', weighting='sigmoid', selection='threshold', threshold=0.6,
                   edge_normalization=True, exclude=[])
    model = Darts(architecture=tiny_architecture(primitives=OPS[1:]), mutator=mutator)
    with torch.no_grad():
        for p in model.mutator.parameters():
            p.normal_(0, 2)
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 3}}, str(tmp_path / 'epoch_3.pth'))
    config = tmp_path / 'cfg.py'
    config.write_text(f'model = dict(architecture=dict(backbone=dict(primitives={OPS[1:]!r})), mutator={mutator!r})\n')
    load_tool('export_genotype').export(str(tmp_path / 'epoch_3.pth'), str(tmp_path / 'export'), str(config))
    exported = Genotype.from_file(str(tmp_path / 'export' / 'genotype.json'))
    assert exported == model.mutator.derive_genotype() and exported.normal_in_degree is not None


def test_gdas_pictures_show_softmax_not_a_sample(tmp_path):
    runner = MagicMock()
    runner.model = tiny_darts()
    runner.model.mutator.weighting = 'gumbel'
    runner.model.train()
    runner.work_dir = str(tmp_path)
    runner.epoch, runner.max_epochs = 0, 5
    GenotypeExportHook().after_train_epoch(runner)
    history = json.loads((tmp_path / 'alpha_history.json').read_text())
    expected = runner.model.mutator.selection_weights()['normal'].numpy().round(6)
    assert np.allclose(history['normal'][0], expected)


def test_the_health_picture_draws_eigenvalues_skips_and_kept_epochs():
    from mmdarts.visualization import draw_health
    fig = draw_health([(2, 0.2), (4, 0.3), (6, 0.9)], {'normal': [(e, e // 2) for e in range(1, 7)],
                                                        'reduce': [(e, 0) for e in range(1, 7)]}, {'darts_es': 2})
    top, bottom = fig.axes
    assert list(top.lines[0].get_ydata()) == [0.2, 0.3, 0.9]
    assert [list(line.get_ydata()) for line in bottom.lines[:2]] == [[0, 1, 1, 2, 2, 3], [0] * 6]
    assert any('darts_es keeps 2' in t.get_text() for t in top.texts)
