# β-DARTS (Ye et al., CVPR 2022): first-order DARTS whose α step adds the Beta-Decay loss, mean logsumexp(α),
# weighted 50 · epoch / 100 as in the paper's code. Reported CIFAR-10 test error 2.53 ± 0.08 %.
_base_ = '../darts_cifar10.py'
model = dict(unroll=False, arch_regularizers=[dict(type='BetaDecay', max_weight=50., ramp_epochs=100)])
