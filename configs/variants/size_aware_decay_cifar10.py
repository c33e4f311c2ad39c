# DARTS with a size-aware α weight decay: each op's α decays in proportion to the op's parameter count plus a
# constant base (as in theorist toolkits, e.g. AutoRA's arch_weight_decay_df), favouring smaller cells.
_base_ = '../darts_cifar10.py'
model = dict(arch_regularizers=[dict(type='SizeAwareDecay', weight=1e-3, base=1.0)])
