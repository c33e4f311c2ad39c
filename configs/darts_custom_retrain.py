# Retrain the cell searched by darts_custom_search.py on your own images (data/custom/{train,val}, one folder per
# class), 32x32 as for CIFAR:
#   python tools/train.py configs/darts_custom_retrain.py \
#       --cfg-options model.backbone.genotype=work_dirs/darts_custom_search/genotype.json
_base_ = './darts_cifar10_retrain.py'
_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
_test_pipeline = [dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=36, edge='short'),
                  dict(type='CenterCrop', crop_size=32), dict(type='PackInputs')]
train_dataloader = dict(
    dataset=dict(type='CustomDataset', data_root='data/custom/train', pipeline=_train_pipeline, _delete_=True))
val_dataloader = dict(
    dataset=dict(type='CustomDataset', data_root='data/custom/val', pipeline=_test_pipeline, _delete_=True))
test_dataloader = val_dataloader
data_preprocessor = dict(num_classes=5, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
model = dict(head=dict(num_classes=5))
