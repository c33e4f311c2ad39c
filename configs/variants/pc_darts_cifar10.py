# PC-DARTS (Xu et al., ICLR 2020): partial channel connections (1/4 of the channels through the mixed ops, then a
# channel shuffle) and edge normalisation (β per edge); batch 256, weights SGD lr 0.1 cosine to 0, α Adam lr 6e-4,
# α updated from epoch 15 on, first order. Reported CIFAR-10 test error 2.57 ± 0.07 %.
_base_ = '../darts_cifar10.py'
model = dict(
    unroll=False,
    arch_warmup_epochs=15,
    architecture=dict(backbone=dict(partial_channels=4)),
    mutator=dict(edge_normalization=True))
train_dataloader = dict(batch_size=256)
arch_dataloader = dict(batch_size=256)
optim_wrapper = dict(architecture=dict(optimizer=dict(lr=0.1)), mutator=dict(optimizer=dict(lr=6e-4)))
param_scheduler = dict(architecture=[dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0)])
