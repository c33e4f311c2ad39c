import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdarts.registry import HOOKS
from mmdarts.structures import CELL_TYPES, cell_edges
from mmdarts.utils import format_weight_table


@HOOKS.register_module()
class GenotypeExportHook(Hook):
    """Writes the genotype derived from the current α every ``interval`` epochs, and logs it with softmax(α).

    Files, in ``out_dir`` (defaults to the work dir): ``genotype_epoch_{N}.json`` (N counts from 1, as checkpoints
    do) and ``genotype.json``, always the latest. Only the main process writes.

    Args:
        interval (int): epochs between exports. Defaults to 1.
        out_dir (str, optional): where to write. Defaults to the runner's work dir.
        log_weights (bool): also log the softmax(α) table of each cell type. Defaults to True.
    """
    priority = 'LOW'

    def __init__(self, interval: int = 1, out_dir: Optional[str] = None, log_weights: bool = True):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'GenotypeExportHook: interval must be a positive integer, got {interval!r}')
        self.interval = interval
        self.out_dir = out_dir
        self.log_weights = log_weights

    def after_train_epoch(self, runner) -> None:
        if not self.every_n_epochs(runner, self.interval) and not self.is_last_train_epoch(runner):
            return
        self.export(runner, runner.epoch + 1)

    def export(self, runner, epoch: int) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        mutator = getattr(model, 'mutator', None)
        if mutator is None or not hasattr(mutator, 'derive_genotype'):
            raise TypeError(f'GenotypeExportHook needs a model with a DARTS mutator (mmdarts.Darts), '
                            f'got {type(model).__name__}')
        genotype = mutator.derive_genotype()
        genotype.meta = dict(epoch=epoch, primitives=list(mutator.primitives))
        if is_main_process():
            out_dir = self.out_dir or runner.work_dir
            path = osp.join(out_dir, f'genotype_epoch_{epoch}.json')
            genotype.to_file(path)
            genotype.to_file(osp.join(out_dir, 'genotype.json'))
            runner.logger.info(f'Epoch {epoch}: {genotype} -> {path}')
            if self.log_weights:
                weights = mutator.arch_weights(detach=True)
                names = [f'{j}->{node + 2}' for node, j in cell_edges(mutator.num_nodes)]
                for cell in CELL_TYPES:
                    table = format_weight_table(weights[cell].float().cpu(), mutator.primitives, names)
                    runner.logger.info(f'softmax(alpha) of the {cell} cell, edges (input->node) x ops:\n{table}')
