from unittest.mock import MagicMock

from mmengine.dataset import DefaultSampler
from torch.utils.data import DataLoader

from mmdarts.engine import DartsSearchLoop


def loader(values, batch_size):
    sampler = DefaultSampler(values, shuffle=False)
    return DataLoader(values, batch_size=batch_size, sampler=sampler, collate_fn=list)


def test_zips_train_with_arch_and_restarts_the_shorter():
    runner = MagicMock()
    seen = []
    runner.model.train_step.side_effect = lambda data, optim_wrapper: seen.append(data) or {}
    train, arch = loader(list(range(10)), 2), loader(list(range(100, 104)), 2)
    loop = DartsSearchLoop(runner, train, max_epochs=2, arch_dataloader=arch)
    loop.run()
    assert len(seen) == 10 and loop.iter == 10 and loop.epoch == 2
    assert seen[0] == dict(train=[0, 1], arch=[100, 101])
    assert [d['arch'] for d in seen[:5]] == [[100, 101], [102, 103], [100, 101], [102, 103], [100, 101]]
    assert seen[5]['arch'] == [100, 101]  # every epoch starts the arch loader anew
    assert train.sampler.epoch == arch.sampler.epoch == 1


def test_arch_dataloader_from_config():
    runner = MagicMock()
    runner.cfg = {'arch_dataloader': None}
    try:
        DartsSearchLoop(runner, loader([1, 2], 1), max_epochs=1)
    except ValueError as e:
        assert 'arch_dataloader' in str(e)
    else:
        raise AssertionError('a missing arch_dataloader must be refused')
