# A small DARTS search on scikit-learn's handwritten digits (1797 grey 8x8 images, shipped with the package, no
# download): second order, a few minutes on 2 CPU cores, leaves genotype.json in the work dir.
#   python tools/train.py configs/darts_digits_demo.py   (or: make demo)
_base_ = [
    '_base_/models/darts_supernet_cifar.py',
    '_base_/schedules/darts_search_50e.py',
    '_base_/default_runtime.py',
]
model = dict(
    unroll=True,
    architecture=dict(
        backbone=dict(base_channels=8, num_layers=5, num_nodes=4, stem_multiplier=2, in_channels=1)))
data_preprocessor = dict(num_classes=10, mean=[85.0], std=[100.0], to_rgb=False)

dataset_type = 'Digits'
train_pipeline = [dict(type='PackInputs')]
_digits_train = dict(type=dataset_type, split='train', test_ratio=0.2, pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(type='SubsetDataset', dataset=_digits_train, start=0.0, end=0.5),
    sampler=dict(type='DefaultSampler', shuffle=True))
arch_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(type='SubsetDataset', dataset=_digits_train, start=0.5, end=1.0),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(type=dataset_type, split='test', test_ratio=0.2, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=6)
optim_wrapper = dict(architecture=dict(optimizer=dict(lr=0.05)), mutator=dict(optimizer=dict(lr=3e-3)))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
# the search's health every 2 epochs, with fewer Hessian-vector products than the paper's search (a short demo)
custom_hooks = [dict(type='GenotypeExportHook', interval=1), dict(type='SearchHealthHook', interval=2, iterations=10)]
randomness = dict(seed=0)
