# darts_cifar10_retrain.py plus a hook that saves each rank's final state (tests/data/rank_state_hook.py).
_base_ = '../../configs/darts_cifar10_retrain.py'
custom_imports = dict(imports=['rank_state_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='DropPathScheduleHook'), dict(type='RankStateHook')]
