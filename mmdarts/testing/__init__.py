from .fake_cifar import write_fake_cifar10

__all__ = ['write_fake_cifar10']
