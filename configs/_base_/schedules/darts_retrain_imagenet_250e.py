# The paper's ImageNet retraining (Sec. 3.4, its code): 250 epochs, batch 128, SGD lr 0.1 decayed by 0.97 each
# epoch, momentum 0.9, weight decay 3e-5, gradient norm clipped at 5.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-5),
    clip_grad=dict(max_norm=5.0),
)
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=1, gamma=0.97)
train_cfg = dict(by_epoch=True, max_epochs=250, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
