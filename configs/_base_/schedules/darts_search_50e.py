# The paper's search schedule (Sec. 3.1.1): 50 epochs; weights by SGD (lr 0.025 cosine to 0.001, momentum 0.9,
# weight decay 3e-4, gradient norm clipped at 5); α by Adam (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3).
optim_wrapper = dict(
    constructor='DartsOptimWrapperConstructor',
    architecture=dict(
        # foreach: one call for all ~1,400 weight tensors instead of a loop (torch picks it on GPUs, not on CPUs)
        optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4, foreach=True),
        clip_grad=dict(max_norm=5.0)),
    mutator=dict(optimizer=dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)),
)
# Keyed like optim_wrapper: the weights' lr follows a cosine over the search, α's stays constant.
param_scheduler = dict(
    architecture=[dict(type='CosineAnnealingLR', eta_min=0.001, by_epoch=True, begin=0)],
    mutator=[],
)

train_cfg = dict(type='DartsSearchLoop', max_epochs=50, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Writes genotype_epoch_{N}.json and genotype.json into the work dir after every epoch; watches the search's health
# (the dominant eigenvalue of the Hessian of L_val w.r.t. α every 2 epochs, ~1.5 % of the search's time; the stop
# rules DARTS-ES, DARTS+ and an unchanged genotype, reported in the summary; stop=True lets them end the search).
custom_hooks = [
    dict(type='GenotypeExportHook', interval=1),
    dict(type='SearchHealthHook', interval=2, stop=False),
]
