# SDARTS-RS (Chen & Hsieh, ICML 2020, random smoothing): the weight step trains the weights under op weights
# softmax(α) + δ, δ uniform in [-ε, ε] drawn at every step, ε rising linearly from 0.03 at the first epoch to 0.3
# at the end; the α step sees softmax(α) alone. Reported CIFAR-10 test error 2.67 ± 0.03 %.
# First order here (cheaper); the switch works in both orders.
_base_ = '../darts_cifar10.py'
model = dict(unroll=False, random_smoothing=(0.03, 0.3))
