# Train a searched cell on ImageNet in the mobile setting (14 cells, 48 channels, 250 epochs, label smoothing 0.1,
# auxiliary 0.4): 4.7M parameters with DARTS_V2.
_base_ = [
    '_base_/models/darts_net_imagenet.py',
    '_base_/datasets/imagenet_retrain.py',
    '_base_/schedules/darts_retrain_imagenet_250e.py',
    '_base_/default_runtime.py',
]
