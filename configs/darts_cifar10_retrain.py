# Train a searched cell from scratch on CIFAR-10 with the paper's recipe (DARTS_V2 unless told otherwise):
#   python tools/train.py configs/darts_cifar10_retrain.py \
#       --cfg-options model.backbone.genotype=work_dirs/darts_cifar10/genotype.json
_base_ = [
    '_base_/models/darts_net_cifar.py',
    '_base_/datasets/cifar10_retrain.py',
    '_base_/schedules/darts_retrain_cifar_600e.py',
    '_base_/default_runtime.py',
]
