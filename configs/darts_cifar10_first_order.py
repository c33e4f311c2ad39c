# DARTS first order: α descends ∇α L_val(w, α), no virtual step (the paper's cheaper variant).
_base_ = './darts_cifar10.py'
model = dict(unroll=False)
