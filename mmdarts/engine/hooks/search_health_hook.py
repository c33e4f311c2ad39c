"""Watches a search's health: the dominant eigenvalue of ∇²α L_val, the skip connections, the stop rules."""
import itertools
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdarts.models.algorithms.arch_hessian import dominant_arch_eigenvalue
from mmdarts.models.utils.network_checks import check_ints
from mmdarts.registry import HOOKS
from mmdarts.structures import CELL_TYPES, Genotype
from mmdarts.visualization import draw_health, figure_to_rgb, save_figure

from .genotype_export_hook import GenotypeExportHook
from .stop_rules import STOP_RULES, Verdict, skip_connects


@HOOKS.register_module()
class SearchHealthHook(Hook):
    """Every ``interval`` epochs, the dominant eigenvalue of ∇²α L_val on ``num_batches`` batches of the α loader
    (:func:`~mmdarts.models.algorithms.arch_hessian.dominant_arch_eigenvalue`, ``iterations`` Hessian-vector
    products, the α weight decay on the diagonal as R-DARTS adds it), logged (and sent to the visualizer) as
    ``health/hessian_eigenvalue``; every epoch, the stop rules (:mod:`.stop_rules`) on the eigenvalues and genotypes
    so far, and the picture ``search_health.png`` (the eigenvalues and the skip connections by epoch).

    With ``stop=True`` the first rule that fires ends the search cleanly after that epoch: the log names the rule
    and its values, the checkpoint records it, ``genotype.json`` becomes the genotype of the epoch the rule keeps,
    and a ``--resume`` of the stopped search says so and trains no further. With ``stop=False`` (the default) the
    rules only report: the end-of-search summary says what each would have done. The summary also gives the skip
    connections per cell type, the eigenvalue's rise (first against last evaluations), and advice when the search
    looks collapsed.

    Args:
        interval (int): epochs between eigenvalue evaluations (R-DARTS: 2). Defaults to 2.
        num_batches (int): α-loader batches the Hessian averages over. Defaults to 1.
        iterations (int): Hessian-vector products per evaluation (each about three α passes). Defaults to 20.
        weight_decay (float, optional): added to the Hessian's diagonal. Defaults to the α optimizer's.
        stop_rules (dict): rule name -> its arguments, of ``darts_es``, ``darts_plus``, ``genotype_unchanged``.
            Defaults to all three with their papers' defaults.
        stop (bool): end the search when a rule fires. Defaults to False.
    """
    priority = 'LOW'  # before CheckpointHook ('VERY_LOW'): a checkpoint records its epoch's health

    def __init__(self, interval: int = 2, num_batches: int = 1, iterations: int = 20,
                 weight_decay: Optional[float] = None, stop_rules: Optional[Dict[str, dict]] = None,
                 stop: bool = False):
        check_ints('SearchHealthHook', interval=interval, num_batches=num_batches, iterations=iterations)
        rules = {name: {} for name in STOP_RULES} if stop_rules is None else stop_rules
        unknown = sorted(set(rules) - set(STOP_RULES))
        if unknown:
            raise ValueError(f'SearchHealthHook: unknown stop_rules {unknown}; expected some of {sorted(STOP_RULES)}')
        self.interval, self.num_batches, self.iterations = interval, num_batches, iterations
        self.weight_decay, self.rules, self.stop = weight_decay, dict(rules), bool(stop)
        self.eigenvalues: List[Tuple[int, float]] = []
        self.genotypes: List[Tuple[int, Genotype]] = []
        self.fired: Dict[str, Verdict] = {}  # each rule's first verdict
        self.stopped: Optional[Verdict] = None

    def after_train_epoch(self, runner) -> None:
        epoch = runner.epoch + 1
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        genotype = model.mutator.derive_genotype()
        genotype.meta = dict(epoch=epoch, primitives=list(model.mutator.primitives))  # as GenotypeExportHook's
        self.genotypes.append((epoch, genotype))
        if epoch % self.interval == 0:
            self._evaluate(runner, model, epoch)
        for name, args in self.rules.items():
            history = self.eigenvalues if name == 'darts_es' else self.genotypes
            verdict = STOP_RULES[name](history, **args) if name not in self.fired else None
            if verdict is not None:
                self.fired[name] = verdict
                runner.logger.warning(f'Epoch {epoch}: stop rule {name} fires: {verdict.why}; it keeps the genotype of '
                                      f'epoch {verdict.epoch}' + ('' if self.stop else ' (stop=False: reported only)'))
                if self.stop and self.stopped is None:
                    self.stopped = verdict
                    runner.train_loop.stop_training = True
        if is_main_process():
            self._draw(runner, epoch)

    def _draw(self, runner, epoch: int) -> None:
        """``search_health.png`` in the work dir (and to the visualizer): the eigenvalues and skip connections."""
        skips = {cell: [(e, skip_connects(g, cell)) for e, g in self.genotypes] for cell in CELL_TYPES}
        fig = draw_health(self.eigenvalues, skips, {name: v.epoch for name, v in self.fired.items()})
        save_figure(fig, osp.join(runner.work_dir, 'search_health'), ('png', ))
        runner.visualizer.add_image('search_health', figure_to_rgb(fig), step=epoch)

    def _evaluate(self, runner, model, epoch: int) -> None:
        loader = getattr(runner.train_loop, 'arch_dataloader', None)
        if loader is None:
            raise TypeError('SearchHealthHook needs the α loader of a DartsSearchLoop (train_cfg.type='
                            f"'DartsSearchLoop'), got {type(runner.train_loop).__name__}")
        batches = [model.prepared(batch) for batch in itertools.islice(iter(loader), self.num_batches)]
        decay = self.weight_decay
        if decay is None:
            wrapper = runner.optim_wrapper['mutator'] if 'mutator' in runner.optim_wrapper else None
            decay = float(wrapper.optimizer.param_groups[0].get('weight_decay', 0.0)) if wrapper is not None else 0.0
        start = time.perf_counter()
        value = dominant_arch_eigenvalue(model, batches, self.iterations, decay)
        seconds = time.perf_counter() - start
        self.eigenvalues.append((epoch, value))
        runner.message_hub.update_scalar('health/hessian_eigenvalue', value)
        runner.visualizer.add_scalars({'health/hessian_eigenvalue': value}, step=epoch)
        runner.logger.info(f'Epoch {epoch}: dominant eigenvalue of the Hessian of L_val w.r.t. α: {value:.4g} '
                           f'({len(batches)} batch(es), {self.iterations} Hessian-vector products, α weight decay '
                           f'{decay:g} on the diagonal; {seconds:.1f} s)')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['search_health'] = dict(
            eigenvalues=self.eigenvalues, genotypes=[(e, g.to_dict()) for e, g in self.genotypes],
            fired={k: tuple(v) for k, v in self.fired.items()}, stopped=tuple(self.stopped) if self.stopped else None)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('meta', {}).get('search_health')
        if not state:
            return
        self.eigenvalues = [tuple(item) for item in state['eigenvalues']]
        self.genotypes = [(e, Genotype.from_dict(g)) for e, g in state['genotypes']]
        self.fired = {k: Verdict(*v) for k, v in state['fired'].items()}
        self.stopped = Verdict(*state['stopped']) if state['stopped'] else None

    def before_train(self, runner) -> None:
        if self.stopped is not None:
            runner.logger.warning(f'This search had stopped: rule {self.stopped.rule} ({self.stopped.why}); it '
                                  f'keeps the genotype of epoch {self.stopped.epoch}. Not training further.')
            runner.train_loop.stop_training = True

    def after_train(self, runner) -> None:
        if not is_main_process() or not self.genotypes:
            return
        out_dir = next((h.out_dir for h in runner.hooks if isinstance(h, GenotypeExportHook) and h.out_dir),
                       runner.work_dir)  # where the export hook writes genotype.json
        kept = self.stopped or next(iter(self.fired.values()), None)  # as the summary's advice names it
        if kept is not None:  # its file, which an export interval may have skipped
            genotype, path = dict(self.genotypes)[kept.epoch], osp.join(out_dir, f'genotype_epoch_{kept.epoch}.json')
            if not osp.exists(path):
                genotype.to_file(path)
            if kept is self.stopped:
                path = osp.join(out_dir, 'genotype.json')
                genotype.to_file(path)
                runner.message_hub.update_info('genotype_kept_epoch', kept.epoch)
                runner.logger.info(f'Stopped by {kept.rule}: {path} holds the genotype of epoch {kept.epoch}: '
                                   f'{genotype}')
        runner.logger.info(self.summary())

    def summary(self) -> str:
        """What the search's health looked like, and what to do about it."""
        epoch, genotype = self.genotypes[-1]
        lines = [f'Search health (epoch {epoch}):']
        counts = {cell: skip_connects(genotype, cell) for cell in CELL_TYPES}
        lines.append('skip connections: ' + ', '.join(f'{cell} cell {n} of {len(getattr(genotype, cell))} edges'
                                                      for cell, n in counts.items()))
        if self.eigenvalues:
            values = [v for _, v in self.eigenvalues]
            first, last = values[:3], values[-3:]
            lines.append(f'dominant eigenvalue of ∇²α L_val: {sum(first) / len(first):.4g} over the first '
                         f'evaluations, {sum(last) / len(last):.4g} over the last ({len(values)} evaluated, max '
                         f'{max(values):.4g})')
        for name in self.rules:
            verdict = self.fired.get(name)
            lines.append(f'{name}: ' + ('did not fire' if verdict is None else
                                        f"{'stopped the search' if verdict == self.stopped else 'would have stopped'}"
                                        f' at the genotype of epoch {verdict.epoch} ({verdict.why})'))
        edges = len(genotype.normal)
        if counts['normal'] * 2 >= edges or self.fired:
            kept = self.stopped or next(iter(self.fired.values()), None)
            lines.append(f'Advice: {counts["normal"]} of {edges} normal-cell edges are skip_connect'
                         + (f'; consider the genotype of epoch {kept.epoch} (genotype_epoch_{kept.epoch}.json)'
                            if kept is not None else '')
                         + ', stop=True, or a search that resists collapse (configs/variants/: DARTS-, SDARTS-RS, '
                           'β-DARTS, Fair DARTS)')
        return '\n'.join(lines)
