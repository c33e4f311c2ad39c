from .class_checks import check_every_class_has_samples, check_num_classes, dataset_labels
from .digits import Digits
from .local_cifar import LocalCIFAR10
from .subset_dataset import SubsetDataset, check_disjoint_parts, stratified_indices

__all__ = [
    'Digits', 'LocalCIFAR10', 'SubsetDataset', 'check_disjoint_parts', 'check_every_class_has_samples',
    'check_num_classes', 'dataset_labels', 'stratified_indices'
]
