import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdarts.models.utils.network_checks import check_ints
from mmdarts.registry import HOOKS
from mmdarts.structures import CELL_TYPES, edge_names
from mmdarts.visualization import op_totals, write_search_pictures


def op_weight_spread(weights: Dict[str, torch.Tensor]) -> float:
    """How far α has moved from a tie: the largest, over the edges of every cell, of (max − min) / mean of the
    edge's op weights. 0 for uniform weights (every op of every edge alike); 0.1 when the strongest op of the
    most decided edge weighs 10 % of the mean more than its weakest."""
    spreads = [(w.amax(dim=-1) - w.amin(dim=-1)) / w.mean(dim=-1).clamp_min(1e-12) for w in weights.values()]
    return float(torch.cat([s.reshape(-1) for s in spreads]).max()) if spreads else 0.


def format_weight_table(weights: np.ndarray, primitives: Sequence[str], row_names: Sequence[str]) -> str:
    """Formats a ``(num_edges, num_ops)`` table of op weights (e.g. softmax(α)) as fixed-width text."""
    width = max(len(p) for p in primitives) + 1
    name_width = max(len(n) for n in row_names) + 1
    lines = [' ' * name_width + ''.join(p.rjust(width) for p in primitives)]
    for name, row in zip(row_names, weights.tolist()):
        lines.append(name.ljust(name_width) + ''.join(f'{v:.3f}'.rjust(width) for v in row))
    return '\n'.join(lines)


@HOOKS.register_module()
class GenotypeExportHook(Hook):
    """Writes the genotype derived from the current α every ``interval`` epochs and after the last one trained
    (also when a stop rule ends the search), and logs it with softmax(α).

    Files, in ``out_dir`` (defaults to the work dir): ``genotype_epoch_{N}.json`` (N counts from 1, as checkpoints
    do) and ``genotype.json``, always the latest; with ``draw``, for each cell type the diagram
    ``genotype_epoch_{N}_{cell}.png/.svg``, the softmax(α) heatmap ``alpha_epoch_{N}_{cell}.png`` and
    ``alpha_evolution_{cell}.png`` (each edge's op weights by epoch, kept across ``--resume`` in
    ``alpha_history.json``). The pictures also go to the runner's visualizer (``LocalVisBackend``, TensorBoard,
    W&B, as configured), with scalars ``arch/{cell}/{op}``: each op's weight summed over the edges, so a search
    collapsing to skip connections shows as a rising curve. Only the main process writes.

    An epoch's outputs are written after its checkpoint (the lowest priority of the epoch-end hooks), each file
    whole or not at all, the genotype files before the pictures: a run interrupted at any point of an epoch's end
    (SIGINT or SIGKILL) leaves no genotype newer than ``last_checkpoint``, and ``--resume`` writes the resumed
    epoch's genotype files and pictures again (its α is the checkpoint's).

    At the end of the search it logs a summary: where the final genotype and pictures are, the supernet's last
    top-1 (on the val loader: the α half in the search configs), and a warning when α is still nearly uniform
    (:func:`op_weight_spread` below ``uniform_tolerance``): the genotype is then a tie-break, a sign of bad data
    (a half without some classes), too few epochs, or an α learning rate too low.

    Args:
        interval (int): epochs between exports. Defaults to 1.
        out_dir (str, optional): where to write. Defaults to the runner's work dir.
        draw (bool): write and send the pictures. Defaults to True.
        uniform_tolerance (float): the op-weight spread under which the summary warns. Defaults to 0.05.
    """
    priority = 'LOWEST'  # after CheckpointHook ('VERY_LOW'): a genotype is never newer than the checkpoint

    def __init__(self, interval: int = 1, out_dir: Optional[str] = None, draw: bool = True,
                 uniform_tolerance: float = 0.05):
        check_ints('GenotypeExportHook', interval=interval)
        self.interval = interval
        self.out_dir = out_dir
        self.draw = draw
        self.uniform_tolerance = uniform_tolerance
        self._last_metrics: Dict[str, float] = {}
        self._last_export: Optional[int] = None

    def before_train(self, runner) -> None:
        """After ``--resume`` from epoch N: N's genotype files and pictures, which an interrupt may have left
        unwritten, from the checkpoint's α."""
        if runner.epoch > 0 and runner.epoch % self.interval == 0:
            self.export(runner, runner.epoch)

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        self._last_metrics = dict(metrics or {})

    def after_train(self, runner) -> None:
        """The end-of-search summary (see the class docstring)."""
        if not is_main_process() or self._last_export is None:
            return
        out_dir = self.out_dir or runner.work_dir
        kept = runner.message_hub.get_info('genotype_kept_epoch')  # a stop rule's (SearchHealthHook)
        epoch = kept if isinstance(kept, int) else self._last_export
        every = 'every epoch' if self.interval == 1 else f'every {self.interval} epochs and the last'
        lines = [f'Search finished. Genotype: {osp.join(out_dir, "genotype.json")} (epoch {epoch}; {every} in '
                 f'genotype_epoch_{{N}}.json)']
        if self.draw:  # of the kept epoch where this hook exported it
            drawn = epoch if epoch % self.interval == 0 or epoch == self._last_export else self._last_export
            lines.append(f'Pictures (epoch {drawn}): '
                         f'{osp.join(out_dir, f"genotype_epoch_{drawn}_{{normal,reduce}}.png")}, '
                         f'alpha_epoch_{drawn}_{{normal,reduce}}.png, alpha_evolution_{{normal,reduce}}.png')
        top1 = {k: v for k, v in self._last_metrics.items() if 'top1' in k}
        lines.append(f'Supernet on the val loader (the α half in the CIFAR search configs): {top1}' if top1 else
                     'Supernet accuracy: no validation ran (val_dataloader / --no-validate)')
        runner.logger.info('\n'.join(lines))
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        spread = op_weight_spread(model.mutator.selection_weights())
        if spread < self.uniform_tolerance:
            runner.logger.warning(
                f'α is still nearly uniform after {epoch} epochs: on every edge the op weights differ by less than '
                f'{self.uniform_tolerance:.0%} of their mean (largest spread {spread:.1%}), so the genotype is '
                'close to a tie-break. Signs of: a search half without some classes (bad data or split), too '
                'few epochs or steps, an α learning rate too low.')

    def after_train_epoch(self, runner) -> None:
        # the last epoch trained, also when a stop rule (SearchHealthHook, priority above) ends the search here
        if (self.every_n_epochs(runner, self.interval) or self.is_last_train_epoch(runner)
                or runner.train_loop.stop_training):
            self.export(runner, runner.epoch + 1)

    def export(self, runner, epoch: int) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        mutator = getattr(model, 'mutator', None)
        if not hasattr(mutator, 'derive_genotype'):
            raise TypeError(f'GenotypeExportHook needs a model with a DARTS mutator (mmdarts.Darts), '
                            f'got {type(model).__name__}')
        self._last_export = epoch
        genotype = mutator.derive_genotype()
        genotype.meta = dict(epoch=epoch, primitives=list(mutator.primitives))
        if is_main_process():
            out_dir = self.out_dir or runner.work_dir
            path = osp.join(out_dir, f'genotype_epoch_{epoch}.json')
            genotype.to_file(path)
            genotype.to_file(osp.join(out_dir, 'genotype.json'))
            runner.logger.info(f'Epoch {epoch}: {genotype} -> {path}')
            # the weights the genotype is derived from (not a GDAS sample, and with PC-DARTS's edge weights)
            weights = {k: v.float().cpu().numpy() for k, v in mutator.selection_weights().items()}
            label = 'sigmoid(alpha)' if getattr(mutator, 'weighting', '') == 'sigmoid' else 'softmax(alpha)'
            if getattr(mutator, 'edge_normalization', False):
                label += ' x softmax(beta)'
            names = edge_names(mutator.num_nodes)
            for cell in CELL_TYPES:
                table = format_weight_table(weights[cell], mutator.primitives, names)
                runner.logger.info(f'{label} of the {cell} cell, edges (input→node; inputs c_{{k-2}}, c_{{k-1}} '
                                   f'are the genotype\'s states 0, 1, node i its state i+2) x ops:\n{table}')
            if self.draw:
                images = write_search_pictures(out_dir, epoch, genotype, weights, mutator.primitives, mutator.num_nodes)
                for name, image in images.items():
                    runner.visualizer.add_image(name, image, step=epoch)
                scalars = {f'arch/{cell}/{op}': value for cell in CELL_TYPES
                           for op, value in op_totals(weights[cell], mutator.primitives).items()}
                runner.visualizer.add_scalars(scalars, step=epoch)
