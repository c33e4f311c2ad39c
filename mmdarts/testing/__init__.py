from .fake_cifar import write_fake_cifar10

__all__ = ['write_fake_cifar10']
from .straightforward import StraightforwardDarts  # noqa: E402

__all__ += ['StraightforwardDarts']
