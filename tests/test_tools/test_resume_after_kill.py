"""A search killed (SIGKILL) in the middle of an epoch and resumed ends exactly where an uninterrupted one does;
one interrupted at its epoch end leaves files that agree."""
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys

import pytest
import torch
from data_writers import write_fake_cifar10
from helpers import REPO, run_python, subprocess_env
from PIL import Image
from test_train import tiny_options, train

from mmdarts.structures import Genotype
from mmdarts.utils import is_complete_checkpoint

pytestmark = pytest.mark.slow  # end-to-end runs of the tools: `make test-slow`

EPOCHS = 3


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    return write_fake_cifar10(str(tmp_path_factory.mktemp('cifar')), num_train=32, num_test=8)


def options(root):
    return tiny_options(root, EPOCHS, ['randomness.seed=7', 'randomness.deterministic=True'])


def run_and_kill(work_dir, opts, marker='Epoch(train) [2][2/'):
    """Start a search and SIGKILL it as soon as its log shows ``marker`` (mid-epoch 2)."""
    env = subprocess_env()
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


def readable(path):
    if path.endswith('.json'):
        with open(path) as f:
            json.load(f)
    elif path.endswith('.png'):
        Image.open(path).verify()
    return True


@pytest.mark.parametrize('target,count,when,sig', [
    ('epoch_2.pth', 1, 'after', 'KILL'),  # the checkpoint written, last_checkpoint not yet
    ('genotype_epoch_2.json', 1, 'before', 'INT'),  # the checkpoint and last_checkpoint written
    ('genotype.json', 2, 'before', 'KILL'),  # genotype_epoch_2.json written, genotype.json still epoch 1
    ('alpha_epoch_2_normal.png', 1, 'after', 'INT'),  # some of epoch 2's pictures
    ('alpha_evolution_reduce.png', 2, 'before', 'KILL'),  # all but the last picture
])
def test_an_epoch_end_interrupted_anywhere_leaves_files_that_agree_and_resumes_them(cifar_root, tmp_path, target,
                                                                                       count, when, sig):
    """Whatever the point of epoch 2's end a SIGINT or SIGKILL hits: no genotype newer than last_checkpoint, no
    file half written; ``--resume`` writes the resumed epoch's genotype files and pictures again."""
    work_dir = str(tmp_path / 'search')
    env = dict(INTERRUPT_FILE=target, INTERRUPT_COUNT=str(count), INTERRUPT_WHEN=when, INTERRUPT_SIGNAL=sig)
    result = run_python([osp.join(REPO, 'tests/data/interrupted_train.py'), osp.join(REPO, 'tools/train.py'),
                         osp.join(REPO, 'configs/darts_cifar10.py'), '--work-dir', work_dir, *options(cifar_root)],
                        timeout=600, env=env)
    assert result.returncode == (-signal.SIGKILL if sig == 'KILL' else 1), result.stderr[-3000:]
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    assert is_complete_checkpoint(checkpoint)
    resumable = int(re.search(r'epoch_(\d+)\.pth$', checkpoint).group(1))
    assert resumable == (1 if target == 'epoch_2.pth' else 2)
    files = [f for f in os.listdir(work_dir) if osp.isfile(osp.join(work_dir, f))]
    epochs = [int(m.group(1)) for f in files for m in [re.match(r'genotype_epoch_(\d+)\.json$', f)] if m]
    assert max(epochs) <= resumable
    assert Genotype.from_file(osp.join(work_dir, 'genotype.json')).meta['epoch'] <= resumable
    assert all(readable(osp.join(work_dir, f)) for f in files if f.endswith(('.json', '.png')))

    train('configs/darts_cifar10.py', work_dir, options(cifar_root), ['--resume'])
    assert Genotype.from_file(osp.join(work_dir, 'genotype.json')).meta['epoch'] == EPOCHS
    for epoch in range(1, EPOCHS + 1):
        assert Genotype.from_file(osp.join(work_dir, f'genotype_epoch_{epoch}.json')).meta['epoch'] == epoch
        for cell in ('normal', 'reduce'):
            for name in (f'genotype_epoch_{epoch}_{cell}.png', f'alpha_epoch_{epoch}_{cell}.png'):
                assert readable(osp.join(work_dir, name)), name
    with open(osp.join(work_dir, 'alpha_history.json')) as f:
        assert json.load(f)['epochs'] == list(range(1, EPOCHS + 1))
