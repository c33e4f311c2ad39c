# DARTS second order (Liu et al., ICLR 2019) searching a cell on CIFAR-10 with the paper's settings:
#   python tools/train.py configs/darts_cifar10.py
# The searched cell is written to work_dirs/darts_cifar10/genotype.json after every epoch.
_base_ = [
    '_base_/models/darts_supernet_cifar.py',
    '_base_/datasets/cifar10_search.py',
    '_base_/schedules/darts_search_50e.py',
    '_base_/default_runtime.py',
]
model = dict(unroll=True)
# A fixed seed: the same search, and an epoch redone after --resume, gives the same genotype.
randomness = dict(seed=0, deterministic=False)
