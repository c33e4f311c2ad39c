from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdarts.registry import HOOKS


@HOOKS.register_module()
class GumbelTemperatureHook(Hook):
    """Anneals GDAS's Gumbel-softmax temperature linearly from ``tau_max`` at the first epoch to ``tau_min`` at
    the last (Dong & Yang, CVPR 2019: 10 to 0.1), setting ``model.mutator.tau`` before each epoch.

    Args:
        tau_max (float): the first epoch's temperature. Defaults to 10.
        tau_min (float): the last epoch's temperature. Defaults to 0.1.
    """
    priority = 'NORMAL'

    def __init__(self, tau_max: float = 10., tau_min: float = 0.1):
        if not 0 < tau_min <= tau_max:
            raise ValueError(f'GumbelTemperatureHook: needs 0 < tau_min <= tau_max, got {tau_min}, {tau_max}')
        self.tau_max = tau_max
        self.tau_min = tau_min

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        mutator = getattr(model, 'mutator', None)
        if not hasattr(mutator, 'tau'):
            raise TypeError('GumbelTemperatureHook needs a model whose mutator has a temperature (mmdarts.Darts)')
        mutator.tau = self.tau_max - (self.tau_max - self.tau_min) * runner.epoch / max(runner.max_epochs - 1, 1)
