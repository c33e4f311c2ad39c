from .checkpoint_files import (
                               AtomicLocalBackend,
                               check_checkpoint_fits,
                               choose_resume_checkpoint,
                               is_complete_checkpoint,
                               register_atomic_local_backend,
)
from .compat import ensure_torchvision_importable, load_local_checkpoint, register_checkpoint_loader
from .complexity import count_model, count_parameters
from .dist import all_reduce_mean_, configure_cpu_distributed, init_cpu_distributed, shutdown_distributed

__all__ = [
    'AtomicLocalBackend', 'check_checkpoint_fits', 'choose_resume_checkpoint',
    'is_complete_checkpoint', 'register_atomic_local_backend',
    'ensure_torchvision_importable', 'register_checkpoint_loader', 'load_local_checkpoint', 'all_reduce_mean_',
    'init_cpu_distributed', 'configure_cpu_distributed', 'shutdown_distributed',
    'count_model', 'count_parameters'
]
