"""The search step says what it runs on its device, once, and again with the reason whenever a choice changes."""
from unittest.mock import MagicMock, patch

import torch
from helpers import optim_wrappers, raw_batch, tiny_darts

from mmdarts.models.algorithms import step_plan
from mmdarts.registry import CANDIDATE_OPS


@CANDIDATE_OPS.register_module('test_plan_conv_1x3_3x1')
def conv_1x3_3x1(channels, stride, affine, act_cfg):
    """A candidate of no batched kind (two plain convs in sequence): a generic module, grouped by edge."""
    return torch.nn.Sequential(torch.nn.Conv2d(channels, channels, (1, 3), (1, stride), (0, 1), bias=False),
                               torch.nn.Conv2d(channels, channels, (3, 1), (stride, 1), (1, 0), bias=False))


def logged_lines(model, steps=2):
    logger = MagicMock()
    wrappers = optim_wrappers(model)
    with patch.object(step_plan.MMLogger, 'get_current_instance', return_value=logger):
        for _ in range(steps):
            model.train_step(dict(train=raw_batch(seed=1), arch=raw_batch(seed=2)), wrappers)
    return [call.args[0] for call in logger.info.call_args_list]


def test_a_cpu_step_says_its_cells_run_per_edge_and_why_eq_8_takes_two_passes():
    (line, ) = logged_lines(tiny_darts(unroll=True))  # two steps, one line
    assert line == ('Darts search step: device: cpu, channels_last images (memory_format); cells: 3 cells per edge '
                    '(each edge a wave); α step: second order; Eq. 8: two passes (a channels-last input '
                    '(memory_format)); passes: eager (not on a CUDA device)')
    model = tiny_darts(unroll=True)
    model.memory_format = 'contiguous'
    assert ('Eq. 8: two passes (cell 0: its edges are stored per edge (built where CUDA was not available: '
            "edge_layout='batched'))") in logged_lines(model, steps=1)[0]


def test_batched_cells_run_eq_8_as_one_twin_pass_and_a_change_is_logged_with_its_reason():
    model = tiny_darts(unroll=True, edge_layout='batched')
    model.memory_format = 'contiguous'
    (line, ) = logged_lines(model, steps=1)
    assert 'cells: 3 cells batched, 2 waves' in line and 'Eq. 8: one twin pass' in line
    model.twin_pass = False
    (line, ) = logged_lines(model, steps=1)
    assert 'Eq. 8: two passes (twin_pass=False)' in line
    model.unroll = False
    (line, ) = logged_lines(model, steps=1)
    assert 'α step: first order' in line and 'Eq. 8' not in line


def test_a_candidate_without_a_batched_form_is_named_and_keeps_the_twin_pass():
    primitives = ('none', 'skip_connect', 'sep_conv_3x3', 'test_plan_conv_1x3_3x1')
    model = tiny_darts(unroll=True, edge_layout='batched', primitives=primitives)
    model.memory_format = 'contiguous'
    (line, ) = logged_lines(model, steps=1)
    assert "3 cells batched, 2 waves, ['test_plan_conv_1x3_3x1'] as generic modules (grouped by edge)" in line
    assert 'Eq. 8: one twin pass' in line


def test_a_candidate_that_differs_between_edges_sends_its_cell_to_the_literal_sum_and_says_why():
    model = tiny_darts(unroll=True, edge_layout='batched', primitives=('none', 'test_plan_conv_1x3_3x1'))
    model.memory_format = 'contiguous'
    cell = model.architecture.backbone.cells[0]
    cell.mixed_ops[1].ops[1][0].padding = (0, 2)  # one edge's module unlike its wave's others
    cell.mixed_ops[1].ops[1][0].dilation = (1, 2)
    cell._plans.clear()
    (line, ) = logged_lines(model, steps=1)
    assert ("cell 0 the literal sum per edge (candidates ['test_plan_conv_1x3_3x1'] differ between the edges of a "
            'wave)') in line
    assert 'Eq. 8: two passes (cell 0: it computes its edges as the literal sum)' in line


def test_a_search_that_resists_collapse_says_how():
    model = tiny_darts(auxiliary_skip=True)
    model.random_smoothing = (0.03, 0.3)
    (line, ) = logged_lines(model, steps=1)
    assert line.endswith('against collapse: DARTS- auxiliary skip, β from 1 to 0, SDARTS-RS, ε from 0.03 to 0.3 in '
                         'the weight step')
