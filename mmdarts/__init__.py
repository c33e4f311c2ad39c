"""mmdarts: Differentiable Architecture Search (Liu et al., ICLR 2019) for OpenMMLab 2.0."""
from .utils.checkpoint_files import register_atomic_local_backend
from .utils.compat import ensure_torchvision_importable, patch_mmengine_config, register_checkpoint_loader

# Before anything imports torchvision (mmpretrain's models and datasets do): see mmdarts_startup.py, whose .pth file
# does the same at interpreter start where mmdarts is installed, for tools that do not import mmdarts first.
TORCHVISION_STATUS = ensure_torchvision_importable()
patch_mmengine_config()  # configs may inherit 'mmdarts::darts_cifar10.py'
register_checkpoint_loader()
register_atomic_local_backend()  # a kill never leaves a truncated checkpoint

# mmdarts' registries are children of mmpretrain's: register mmpretrain's modules so its types resolve.
import warnings  # noqa: E402

from mmpretrain.utils import register_all_modules  # noqa: E402

# mmcv-lite has no compiled ops; mmcv says so at import for a module mmdarts never uses.
warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')

register_all_modules(init_default_scope=False)

from . import datasets, engine, models, structures  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
