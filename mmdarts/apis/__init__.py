"""What mmdarts' tools do with a config (mmpretrain's ``apis`` layer): check it before anything is built, and run
it through mmengine's Runner."""
from .config_checks import check_config, check_config_or_exit, complete_model_config, merge_options
from .runner import run_runner

__all__ = ['check_config', 'check_config_or_exit', 'complete_model_config', 'merge_options', 'run_runner']
