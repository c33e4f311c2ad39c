from .checkpoint_files import (
    AtomicLocalBackend,
    check_checkpoint_fits,
    choose_resume_checkpoint,
    is_complete_checkpoint,
)
from .compat import ensure_torchvision_importable, load_local_checkpoint
from .complexity import count_model, count_parameters
from .dist import all_reduce_mean_, configure_cpu_distributed

__all__ = [
    'AtomicLocalBackend', 'check_checkpoint_fits', 'choose_resume_checkpoint', 'is_complete_checkpoint',
    'ensure_torchvision_importable', 'load_local_checkpoint', 'all_reduce_mean_', 'configure_cpu_distributed',
    'count_model', 'count_parameters'
]
