from mmengine.hooks import Hook

from mmdarts.registry import HOOKS


@HOOKS.register_module()
class DropPathScheduleHook(Hook):
    """Raises the drop path probability linearly over training, as the paper's retraining does: before epoch e
    (from 0) of E, every module with a ``drop_path_factor`` (e.g. ``DartsNet``) gets ``e / E``, so its probability
    in use goes from 0 to its ``drop_path_prob``."""
    priority = 'NORMAL'

    def before_train_epoch(self, runner) -> None:
        factor = runner.epoch / max(runner.max_epochs, 1)
        modules = [m for m in runner.model.modules() if hasattr(m, 'drop_path_factor')]
        if not modules:
            raise TypeError('DropPathScheduleHook: no module of the model has drop path (drop_path_factor); '
                            'remove the hook or use a backbone such as mmdarts.DartsNet')
        for m in modules:
            m.drop_path_factor = factor
