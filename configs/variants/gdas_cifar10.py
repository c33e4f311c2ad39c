# GDAS (Dong & Yang, CVPR 2019): in each forward one op per edge, sampled by a hard Gumbel-softmax with
# straight-through gradients; the temperature falls linearly from 10 to 0.1 over the search; first order.
# Reported CIFAR-10 test error 2.93 % (GDAS) / 2.82 % (GDAS with FRC reduction cell).
_base_ = '../darts_cifar10.py'
model = dict(unroll=False, mutator=dict(weighting='gumbel', tau=10.))
custom_hooks = [
    dict(type='GenotypeExportHook', interval=1),
    dict(type='SearchHealthHook', interval=2, stop=False),
    dict(type='GumbelTemperatureHook', tau_max=10., tau_min=0.1),
]
