from unittest.mock import MagicMock

import pytest
import torch

from mmdarts.engine import DropPathScheduleHook
from mmdarts.models import DartsNet


def test_probability_rises_linearly_from_zero():
    net = DartsNet('DARTS_V2', base_channels=4, num_layers=3, drop_path_prob=0.2)
    runner = MagicMock()
    runner.model = torch.nn.Sequential(net)
    runner.max_epochs = 600
    seen = []
    for epoch in (0, 300, 599):
        runner.epoch = epoch
        DropPathScheduleHook().before_train_epoch(runner)
        seen.append(net.current_drop_path_prob)
    assert seen == pytest.approx([0., 0.1, 0.2 * 599 / 600])


def test_model_without_drop_path_is_refused():
    runner = MagicMock()
    runner.model = torch.nn.Linear(2, 2)
    runner.epoch, runner.max_epochs = 0, 1
    with pytest.raises(TypeError, match='no module of the model has drop path'):
        DropPathScheduleHook().before_train_epoch(runner)


def test_gumbel_temperature_falls_linearly_from_10_to_0_1():
    from helpers import tiny_darts

    from mmdarts.engine import GumbelTemperatureHook
    runner = MagicMock()
    runner.model = tiny_darts()
    runner.max_epochs = 50
    seen = []
    for epoch in (0, 49):
        runner.epoch = epoch
        GumbelTemperatureHook().before_train_epoch(runner)
        seen.append(runner.model.mutator.tau)
    assert seen == pytest.approx([10., 0.1])
    with pytest.raises(ValueError, match='tau_min <= tau_max'):
        GumbelTemperatureHook(tau_max=0.1, tau_min=10)
