# Search on your own images: one folder per class under data/custom/train (mmpretrain's CustomDataset).
# Images are resized to 32x32 as for CIFAR; set num_classes to your number of classes.
_base_ = './darts_cifar10.py'
_images = dict(type='CustomDataset', data_root='data/custom/train', _delete_=True)
_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
_test_pipeline = [dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=36, edge='short'),
                  dict(type='CenterCrop', crop_size=32), dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(dataset=dict(_images, pipeline=_train_pipeline)))
arch_dataloader = dict(dataset=dict(dataset=dict(_images, pipeline=_train_pipeline)))
val_dataloader = dict(dataset=dict(dataset=dict(_images, pipeline=_test_pipeline)))
test_dataloader = val_dataloader
data_preprocessor = dict(num_classes=5, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
model = dict(architecture=dict(head=dict(num_classes=5)))
