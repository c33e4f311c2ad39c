# Fair DARTS (Chu et al., ECCV 2020): sigmoid instead of softmax, so ops do not compete; the zero-one loss
# (w_{0-1} = 10) pushes each σ(α) to 0 or 1; the genotype keeps, of each node's two best edges, those whose op
# reaches σ >= 0.85. Its search space has no `none` op; first order. Reported CIFAR-10 test error 2.54 %.
_base_ = '../darts_cifar10.py'
model = dict(
    unroll=False,
    architecture=dict(backbone=dict(primitives=[
        'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5'
    ])),
    mutator=dict(weighting='sigmoid', selection='threshold', threshold=0.85, exclude=()),
    arch_regularizers=[dict(type='ZeroOneLoss', weight=10.)])
