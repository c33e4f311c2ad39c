# The paper's ImageNet mobile-setting network (Sec. 3.4): 14 cells of 48 initial channels, two stride-2 stems,
# auxiliary tower (weight 0.4), label smoothing 0.1, no drop path. 4.7M parameters.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='DartsNet',
        # genotype: DartsNet's default, the paper's 'DARTS_V2'. Not set here, so that a config inheriting this one
        # sets it in any form (a file, a published name, a dict, Genotype(...) text) without _delete_.
        base_channels=48,
        num_layers=14,
        stem='imagenet',
        drop_path_prob=0.0,
        auxiliary=True),
    head=dict(
        type='DartsAuxClsHead',
        num_classes=1000,
        # in_channels and aux_in_channels are derived from the backbone (768 and 768: 4 nodes * 192 channels)
        aux_weight=0.4,
        aux_pool_stride=2,
        aux_batch_norm=False,  # as the paper's code (its ImageNet tower has no BN after the 2x2 conv)
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0),
        topk=(1, 5)),
)
