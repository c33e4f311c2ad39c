# The paper's CIFAR evaluation network (Sec. 3.2): 20 cells of 36 initial channels, auxiliary tower (weight 0.4)
# at 2/3 depth, drop path 0.2 raised linearly by DropPathScheduleHook. The head's channels follow the backbone
# (another genotype, base_channels or num_layers needs nothing else). Another genotype:
#   --cfg-options model.backbone.genotype=work_dirs/darts_cifar10/genotype.json
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='DartsNet',
        # genotype: DartsNet's default, the paper's 'DARTS_V2'. Not set here, so that a config inheriting this one
        # sets it in any form (a file, a published name, a dict, Genotype(...) text) without _delete_.
        base_channels=36,
        num_layers=20,
        stem='cifar',
        stem_multiplier=3,
        drop_path_prob=0.2,
        auxiliary=True),
    head=dict(
        type='DartsAuxClsHead',
        num_classes=10,
        # in_channels and aux_in_channels are derived from the backbone (576 and 576 for 4 nodes, 36 channels)
        aux_weight=0.4,
        aux_pool_stride=3,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
