"""A search killed (SIGKILL) in the middle of an epoch and resumed ends exactly where an uninterrupted one does."""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from helpers import REPO
from test_train import tiny_options, train

from mmdarts.testing import write_fake_cifar10

EPOCHS = 3


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    return write_fake_cifar10(str(tmp_path_factory.mktemp('cifar')), num_train=32, num_test=8)


def options(root):
    return tiny_options(root, EPOCHS, ['randomness.seed=7', 'randomness.deterministic=True'])


def run_and_kill(work_dir, opts, marker='Epoch(train) [2][2/'):
    """Start a search and SIGKILL it as soon as its log shows ``marker`` (mid-epoch 2)."""
    env = dict(os.environ, OMP_NUM_THREADS='2', PYTHONUNBUFFERED='1')
    command = [sys.executable, osp.join(REPO, 'tools/train.py'), osp.join(REPO, 'configs/darts_cifar10.py'),
               '--work-dir', work_dir, *opts]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, ''.join(seen[-30:])


def final_state(work_dir):
    checkpoint = torch.load(osp.join(work_dir, f'epoch_{EPOCHS}.pth'), map_location='cpu', weights_only=False)
    return checkpoint['state_dict'], checkpoint['optimizer']


def flatten(tree, prefix=''):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from flatten(value, f'{prefix}.{key}')
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from flatten(value, f'{prefix}[{i}]')
    else:
        yield prefix, tree


def test_killed_and_resumed_search_equals_uninterrupted(cifar_root, tmp_path):
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
    train('configs/darts_cifar10.py', straight, options(cifar_root))
    run_and_kill(killed, options(cifar_root))
    assert osp.isfile(osp.join(killed, 'epoch_1.pth')) and not osp.exists(osp.join(killed, 'epoch_2.pth'))
    result = train('configs/darts_cifar10.py', killed, options(cifar_root), ['--resume'])
    assert 'resumed epoch: 1' in result.stdout + result.stderr

    (weights_a, optim_a), (weights_b, optim_b) = final_state(straight), final_state(killed)
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:  # weights, α and BN statistics, bit for bit
        assert torch.equal(weights_a[key], weights_b[key]), key
    for (key, a), (_, b) in zip(flatten(optim_a), flatten(optim_b)):  # both optimizers' states
        assert torch.equal(a, b) if torch.is_tensor(a) else a == b, key
    with open(osp.join(straight, 'genotype.json')) as fa, open(osp.join(killed, 'genotype.json')) as fb:
        assert fa.read() == fb.read()
