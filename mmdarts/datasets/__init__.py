from .digits import Digits
from .local_cifar import LocalCIFAR10
from .subset_dataset import SubsetDataset

__all__ = ['Digits', 'LocalCIFAR10', 'SubsetDataset']
