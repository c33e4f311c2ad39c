# The paper's CIFAR retraining (Sec. 3.2): 600 epochs, batch 96, SGD lr 0.025 cosine to 0, momentum 0.9, weight
# decay 3e-4, gradient norm clipped at 5; drop path probability raised linearly over training.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5.0),
)
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, begin=0, eta_min=0.0)
train_cfg = dict(by_epoch=True, max_epochs=600, val_interval=1)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='DropPathScheduleHook')]
auto_scale_lr = dict(base_batch_size=96)
