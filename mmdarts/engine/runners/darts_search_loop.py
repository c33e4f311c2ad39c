from typing import Dict, Union

from mmengine.runner import EpochBasedTrainLoop, set_random_seed
from torch.utils.data import DataLoader

from mmdarts.datasets import check_disjoint_parts
from mmdarts.registry import LOOPS


def _set_epoch(dataloader: DataLoader, epoch: int) -> None:
    for holder in (getattr(dataloader, 'sampler', None), getattr(dataloader, 'batch_sampler', None)):
        for sampler in (holder, getattr(holder, 'sampler', None)):
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(epoch)
                return


@LOOPS.register_module()
class DartsSearchLoop(EpochBasedTrainLoop):
    """The DARTS search loop: each iteration hands the model ``dict(train=batch, arch=batch)``.

    ``train`` batches come from ``dataloader`` (they train the weights), ``arch`` batches from ``arch_dataloader``
    (they train α). An epoch is one pass over ``dataloader``; the arch loader starts again whenever it runs out
    (the paper's search splits the training set into two equal halves, so neither runs out early). Both samplers
    are reseeded with the epoch number at every epoch.

    The random generators of Python, numpy and torch are also reseeded from (the runner's seed, epoch) at the start
    of every epoch, so an epoch is a function of the state at its start: a search resumed from a checkpoint repeats
    exactly what an uninterrupted one does (bit for bit on CPU with ``randomness=dict(seed=..., deterministic=True)``;
    without a seed mmengine draws one, and with ``diff_rank_seed`` the runner's seed holds the rank), augmentations
    included.

    Args:
        runner (Runner): the runner.
        dataloader (DataLoader | dict): the weights' loader (``train_dataloader`` of the config).
        max_epochs (int): epochs of search.
        arch_dataloader (DataLoader | dict, optional): the architecture's loader. Defaults to the config's
            top-level ``arch_dataloader``.
        **kwargs: as for ``EpochBasedTrainLoop`` (``val_begin``, ``val_interval``, ``dynamic_intervals``).
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], max_epochs: int,
                 arch_dataloader: Union[DataLoader, Dict, None] = None, **kwargs) -> None:
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        if arch_dataloader is None:
            arch_dataloader = runner.cfg.get('arch_dataloader')
        if arch_dataloader is None:
            raise ValueError('DartsSearchLoop needs the batches of the α step: set a top-level `arch_dataloader` '
                             '(like train_dataloader) in the config, or train_cfg.arch_dataloader')
        if isinstance(arch_dataloader, dict):
            diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
            arch_dataloader = runner.build_dataloader(arch_dataloader, seed=runner.seed, diff_rank_seed=diff_rank_seed)
        if len(arch_dataloader) == 0:
            raise ValueError('DartsSearchLoop: arch_dataloader is empty (its dataset is smaller than one batch?)')
        self.arch_dataloader = arch_dataloader
        check_disjoint_parts(self.dataloader.dataset, arch_dataloader.dataset, 'train_dataloader.dataset',
                             'arch_dataloader.dataset')

    def run_epoch(self) -> None:
        """One pass over the weights' loader, each batch paired with the next arch batch."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        seed = getattr(self.runner, 'seed', None)
        if isinstance(seed, int):
            set_random_seed((seed + 1_000_003 * (self._epoch + 1)) % 2**31)  # Python's, numpy's and torch's generators
        _set_epoch(self.dataloader, self._epoch)
        _set_epoch(self.arch_dataloader, self._epoch)
        arch_batches = iter(self.arch_dataloader)
        for idx, train_batch in enumerate(self.dataloader):
            try:
                arch_batch = next(arch_batches)
            except StopIteration:  # the arch loader starts again whenever it runs out
                arch_batches = iter(self.arch_dataloader)
                arch_batch = next(arch_batches)
            self.run_iter(idx, dict(train=train_batch, arch=arch_batch))
        del arch_batches  # its loader workers end before the epoch's hooks run
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
