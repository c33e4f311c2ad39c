# The paper's search supernet (Sec. 3.1.1): 8 cells, 16 initial channels, 4 nodes, the 8 DARTS primitives.
# The head's in_channels follow the backbone (num_nodes * 4 * base_channels): a smaller search is
# --cfg-options model.architecture.backbone.base_channels=8 model.architecture.backbone.num_layers=5
model = dict(
    type='Darts',
    unroll=True,
    architecture=dict(
        type='ImageClassifier',
        backbone=dict(
            type='DartsSupernet',
            base_channels=16,
            num_layers=8,
            num_nodes=4,
            stem_multiplier=3,
            primitives=[
                'none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
                'dil_conv_3x3', 'dil_conv_5x5'
            ],
            # how the edges' weights are stored: 'auto' batched where CUDA is available (the GPU's waves read them
            # as one tensor per group), else per edge; 'per_edge' or 'batched' to choose (docs/benchmarks.md)
            edge_layout='auto'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=10,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, ))),
    mutator=dict(type='DiffMutator', init_std=1e-3),
)
# Several processes (--launcher pytorch|slurm|mpi): α and weight gradients averaged over the ranks.
# mmengine resolves the wrapper in its root registry, so the scope is spelled out.
model_wrapper_cfg = dict(type='mmdarts.DartsDistributedWrapper')
