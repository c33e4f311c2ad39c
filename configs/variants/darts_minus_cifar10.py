# DARTS- (Chu et al., ICLR 2021): every mixed op adds β·skip(x), an auxiliary skip connection (a FactorizedReduce
# of its own on stride-2 edges) that α does not weigh and the genotype never holds; β falls linearly from 1 at the
# first epoch to 0 at the end of the search, set by Darts at each epoch. Reported CIFAR-10 test error 2.59 ± 0.08 %.
# First order here (cheaper); the switch works in both orders.
_base_ = '../darts_cifar10.py'
model = dict(unroll=False, architecture=dict(backbone=dict(auxiliary_skip=True)))
