"""Running a config as mmdarts' tools do: mmengine's Runner, set up for a machine with or without CUDA, with the
checks that stop a run whose model and data disagree."""
import gc
from typing import Optional

from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

from mmdarts.engine.hooks import DatasetCheckHook
from mmdarts.utils.checkpoint_files import check_checkpoint_fits
from mmdarts.utils.dist import configure_cpu_distributed, init_cpu_distributed, shutdown_distributed


def run_runner(cfg, launcher: str, method: str = 'train', checkpoint: Optional[str] = None) -> None:
    """Builds mmengine's Runner from ``cfg`` and runs ``train`` or ``test``: on a machine without CUDA, gloo starts
    first (:func:`init_cpu_distributed`, :func:`configure_cpu_distributed`); afterwards the runner (and DDP, which
    holds the process group) is released and the group shut down (:func:`shutdown_distributed`). The model and
    data must agree on the classes (a ``DatasetCheckHook`` is added where the config has none); a ``checkpoint``
    to test must fit the model (:func:`~mmdarts.utils.checkpoint_files.check_checkpoint_fits`), checked before the
    Runner writes the config into the work dir, where the run that wrote the checkpoint may have saved its own."""
    if checkpoint is not None:
        init_default_scope(cfg.get('default_scope', 'mmdarts'))
        check_checkpoint_fits(MODELS.build(cfg.model), checkpoint, 'Test with the config saved in the work dir of '
                              'the run that wrote it (work_dirs/<config name>/<config name>.py), which holds the model '
                              'it trained.')
    if init_cpu_distributed(launcher):
        configure_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    if not any(isinstance(hook, DatasetCheckHook) for hook in runner.hooks):
        runner.register_hook(DatasetCheckHook(), priority='VERY_HIGH')
    getattr(runner, method)()
    del runner
    gc.collect()
    shutdown_distributed()
