# DARTS search on CIFAR-100: darts_cifar10.py with the dataset part changed.
_base_ = './darts_cifar10.py'
dataset_type = 'CIFAR100'
data_root = 'data/cifar100'
_images = dict(type=dataset_type, data_root=data_root)
train_dataloader = dict(dataset=dict(dataset=_images))
arch_dataloader = dict(dataset=dict(dataset=_images))
val_dataloader = dict(dataset=dict(dataset=_images))
test_dataloader = val_dataloader
data_preprocessor = dict(num_classes=100, mean=[129.304, 124.070, 112.434], std=[68.170, 65.392, 70.418])
model = dict(architecture=dict(head=dict(num_classes=100)))
