# CIFAR-10 for the DARTS search (Liu et al., 2019, Sec. 3.1.1): the 50k training images split into two disjoint,
# deterministic halves, the first trains the weights, the second α; the supernet is validated on the second half.
# The halves are drawn class by class (SubsetDataset mode='stratified', the same seed for all three), so each
# holds every class in its share; mode='contiguous' cuts index ranges instead.
dataset_type = 'CIFAR10'  # mmpretrain's: downloads into data_root if absent
data_root = 'data/cifar10'
data_preprocessor = dict(
    num_classes=10,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=False,
)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        type='SubsetDataset',
        dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
        start=0.0,
        end=0.5,
        mode='stratified',
        seed=0),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
# Read by DartsSearchLoop: the batches of the α step.
arch_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        type='SubsetDataset',
        dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
        start=0.5,
        end=1.0,
        mode='stratified',
        seed=0),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        type='SubsetDataset',
        dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=test_pipeline),
        start=0.5,
        end=1.0,
        mode='stratified',
        seed=0),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
