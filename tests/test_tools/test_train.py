"""tools/train.py as a user runs it: search on a fake CIFAR-10 in the real on-disk format, resume, two processes."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from data_writers import write_fake_cifar10
from helpers import REPO, run_python, subprocess_env

from mmdarts.structures import Genotype

pytestmark = pytest.mark.slow  # end-to-end runs of the tools: `make test-slow`


def tiny_options(data_root: str, epochs: int, extra=()):
    opts = [f'train_cfg.max_epochs={epochs}', 'model.architecture.backbone.base_channels=4',
            'model.architecture.backbone.num_layers=3', 'model.architecture.backbone.num_nodes=2',
            'default_hooks.logger.interval=1', 'randomness.seed=0']  # the head's channels follow the backbone
    for loader in ('train_dataloader', 'arch_dataloader', 'val_dataloader'):
        opts += [f'{loader}.dataset.dataset.type=LocalCIFAR10', f'{loader}.dataset.dataset.data_root={data_root}',
                 f'{loader}.batch_size=8', f'{loader}.num_workers=0']
    return ['--cfg-options'] + opts + list(extra)


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    return write_fake_cifar10(str(tmp_path_factory.mktemp('cifar')), num_train=32, num_test=8)


def train(config, work_dir, options, extra_args=(), timeout=300):
    result = run_python([osp.join(REPO, 'tools/train.py'), osp.join(REPO, config), '--work-dir', work_dir,
                         *extra_args, *options], timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def dist_train(config, work_dir, options, extra_args=(), port=29533, timeout=400):
    """bash tools/dist_train.sh CONFIG 2 ... : two processes through torchrun, one thread each."""
    env = subprocess_env(1, PORT=str(port), PYTHON=sys.executable, PYTHONPATH=osp.join(REPO, 'tests/data'))
    result = subprocess.run(['bash', osp.join(REPO, 'tools/dist_train.sh'), osp.join(REPO, config), '2',
                             '--work-dir', work_dir, *extra_args, *options],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def alphas(checkpoint):
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']
    return {k: v for k, v in state.items() if k.startswith('mutator.')}


def test_search_writes_genotypes_and_resumes(cifar_root, tmp_path):
    """With the cells batched, their edges stored in banks (what a GPU runs; the other tests here run per edge):
    checkpoints save and resume them through mmengine."""
    work_dir = str(tmp_path / 'search')
    batched = ['model.architecture.backbone.edge_layout=batched']
    train('configs/darts_cifar10.py', work_dir, tiny_options(cifar_root, 2, batched))
    for name in ('genotype.json', 'genotype_epoch_1.json', 'genotype_epoch_2.json', 'epoch_2.pth'):
        assert osp.isfile(osp.join(work_dir, name)), name
    genotype = Genotype.from_file(osp.join(work_dir, 'genotype.json'), num_nodes=2)
    assert genotype == Genotype.from_file(osp.join(work_dir, 'genotype_epoch_2.json'))
    assert genotype.meta['epoch'] == 2
    saved = alphas(osp.join(work_dir, 'epoch_2.pth'))
    assert set(saved) == {'mutator.alphas.normal', 'mutator.alphas.reduce'}
    state = torch.load(osp.join(work_dir, 'epoch_2.pth'), map_location='cpu', weights_only=False)['state_dict']
    assert any('.banks.' in key for key in state) and not any('mixed_ops' in key for key in state)
    assert not torch.equal(saved['mutator.alphas.normal'], torch.zeros_like(saved['mutator.alphas.normal']))

    result = train('configs/darts_cifar10.py', work_dir, tiny_options(cifar_root, 3, batched), ['--resume'])
    log = result.stdout + result.stderr
    assert 'resumed epoch: 2' in log, log[-3000:]
    assert f'--resume: resuming from {work_dir}/epoch_2.pth' in log
    assert osp.isfile(osp.join(work_dir, 'genotype_epoch_3.json'))
    resumed = alphas(osp.join(work_dir, 'epoch_3.pth'))
    # the search went on from the saved α: one more epoch of Adam steps at lr 3e-4 moves α only a little
    delta = (resumed['mutator.alphas.normal'] - saved['mutator.alphas.normal']).abs().max()
    assert 0 < delta < 0.05


def test_two_processes_on_cpu_share_one_architecture(cifar_root, tmp_path):
    """torchrun --nproc_per_node=2 tools/train.py CFG --launcher pytorch, on gloo, 1 thread per process."""
    work_dir = str(tmp_path / 'dist')
    options = tiny_options(cifar_root, 1)
    dist_train('tests/data/darts_cifar10_rank_state.py', work_dir, options)
    rank0, rank1 = (torch.load(osp.join(work_dir, f'state_rank{r}.pt')) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    assert glob.glob(osp.join(work_dir, 'genotype_epoch_*.json')) == [osp.join(work_dir, 'genotype_epoch_1.json')]
    assert os.path.isfile(osp.join(work_dir, 'genotype.json'))


def test_search_then_retrain_then_test(cifar_root, tmp_path):
    """The whole workflow: search -> genotype.json -> retrain that genotype -> tools/test.py on its checkpoint."""
    search_dir, retrain_dir = str(tmp_path / 'search'), str(tmp_path / 'retrain')
    train('configs/darts_cifar10_first_order.py', search_dir, tiny_options(cifar_root, 1))
    genotype_file = osp.join(search_dir, 'genotype.json')
    options = ['--cfg-options', f'model.backbone.genotype={genotype_file}', 'model.backbone.base_channels=4',
               'model.backbone.num_layers=3',
               'train_cfg.max_epochs=2', 'default_hooks.logger.interval=1']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.type=LocalCIFAR10', f'{loader}.dataset.data_root={cifar_root}',
                    f'{loader}.batch_size=8', f'{loader}.num_workers=0']
    result = train('configs/darts_cifar10_retrain.py', retrain_dir, options)
    log = result.stdout + result.stderr
    assert 'loss_aux' in log  # the auxiliary tower trains
    checkpoint = osp.join(retrain_dir, 'epoch_2.pth')
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    assert any(k.startswith('backbone.cells.2.') for k in state['state_dict'])
    # the repository's config (DARTS_V2's cell) in the retraining's work dir: refused before the Runner writes its
    # config there, so the retraining's saved config (the searched genotype inside) stays as it was
    saved = osp.join(retrain_dir, 'darts_cifar10_retrain.py')
    with open(saved) as f:
        before = f.read()
    other = [o for o in options if not o.startswith('model.backbone.genotype=')]
    refused = run_python([osp.join(REPO, 'tools/test.py'), osp.join(REPO, 'configs/darts_cifar10_retrain.py'),
                          checkpoint, '--work-dir', retrain_dir, *other], timeout=120)
    assert refused.returncode != 0 and 'does not fit the model of this config' in refused.stderr
    with open(saved) as f:
        assert f.read() == before
    counted = run_python([osp.join(REPO, 'tools/get_flops.py'), saved], timeout=120)  # the README's count
    assert counted.returncode == 0 and 'multiply-adds' in counted.stdout + counted.stderr, counted.stderr[-3000:]
    tested = run_python([osp.join(REPO, 'tools/test.py'), osp.join(REPO, 'configs/darts_cifar10_retrain.py'),
                         checkpoint, '--work-dir', str(tmp_path / 'test'), '--out', str(tmp_path / 'metrics.pkl'),
                         *options], timeout=120)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    assert 'accuracy/top1' in tested.stdout + tested.stderr
    assert osp.isfile(tmp_path / 'metrics.pkl')


@pytest.mark.parametrize('first,then', [(2, 1), (1, 2)], ids=['two_then_one', 'one_then_two'])
def test_checkpoints_resume_across_process_counts(cifar_root, tmp_path, first, then):
    work_dir = str(tmp_path / 'search')
    run = {1: train, 2: dist_train}
    run[first]('configs/darts_cifar10.py', work_dir, tiny_options(cifar_root, 1))
    saved = alphas(osp.join(work_dir, 'epoch_1.pth'))
    result = run[then]('configs/darts_cifar10.py', work_dir, tiny_options(cifar_root, 2), ['--resume'])
    assert 'resumed epoch: 1' in result.stdout + result.stderr
    resumed = alphas(osp.join(work_dir, 'epoch_2.pth'))
    delta = (resumed['mutator.alphas.normal'] - saved['mutator.alphas.normal']).abs().max()
    assert 0 < delta < 0.05  # went on from the saved α
    assert Genotype.from_file(osp.join(work_dir, 'genotype_epoch_2.json')).meta['epoch'] == 2


@pytest.mark.skipif(not osp.isfile(osp.join(REPO, '.venv/bin/python')), reason="needs make setup's .venv")
def test_dist_train_takes_make_setups_environment_where_none_is_active(tmp_path):
    """`bash tools/dist_train.sh ...` as the README writes it, with no environment active and no python with torch on
    PATH: the script starts the clone's .venv."""
    env = {k: v for k, v in subprocess_env(1).items() if k not in ('PYTHON', 'VIRTUAL_ENV', 'CONDA_PREFIX')}
    env['PATH'] = '/usr/bin:/bin'
    result = subprocess.run(['bash', osp.join(REPO, 'tools/dist_train.sh'), osp.join(REPO, 'configs/darts_cifar10.py'),
                             '1', '--help'], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and '--cfg-options' in result.stdout, result.stderr[-3000:]


def test_distributed_retraining_with_the_standard_wrapper(cifar_root, tmp_path):
    """mmpretrain's side: MMDistributedDataParallel on CPU processes (device_ids=None), identical weights."""
    work_dir = str(tmp_path / 'retrain')
    options = ['--cfg-options', 'model.backbone.base_channels=4', 'model.backbone.num_layers=3',
               'train_cfg.max_epochs=1']
    for loader in ('train_dataloader', 'val_dataloader'):
        options += [f'{loader}.dataset.type=LocalCIFAR10', f'{loader}.dataset.data_root={cifar_root}',
                    f'{loader}.batch_size=8', f'{loader}.num_workers=0']
    dist_train('tests/data/darts_cifar10_retrain_rank_state.py', work_dir, options, port=29535)
    rank0, rank1 = (torch.load(osp.join(work_dir, f'state_rank{r}.pt')) for r in (0, 1))
    weights = [k for k in rank0 if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))]
    assert weights and all(torch.equal(rank0[k], rank1[k]) for k in weights)


@pytest.mark.parametrize('config', sorted(glob.glob(osp.join(REPO, 'configs', 'variants', '*.py'))),
                         ids=lambda p: osp.basename(p))
def test_variants_search_two_epochs(cifar_root, tmp_path, config):
    work_dir = str(tmp_path / 'variant')
    result = train(osp.relpath(config, REPO), work_dir, tiny_options(cifar_root, 2))
    assert Genotype.from_file(osp.join(work_dir, 'genotype.json'), num_nodes=2).meta['epoch'] == 2
    if 'arch_regularizers' in open(config).read():
        assert re.search(r'arch_loss_\w+: ', result.stdout + result.stderr)  # the regulariser is logged


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU refusal')
def test_amp_without_gpu_is_refused_with_the_reason(tmp_path):
    result = run_python([osp.join(REPO, 'tools/train.py'), osp.join(REPO, 'configs/darts_cifar10.py'), '--amp',
                         '--work-dir', str(tmp_path)], timeout=120)
    assert result.returncode != 0 and 'AmpOptimWrapper trains on GPUs' in result.stderr


@pytest.mark.cuda
@pytest.mark.parametrize('config,extra,args', [
    ('configs/darts_cifar10.py', [], []),  # float32
    ('configs/darts_cifar10.py', [], ['--amp']),  # second order, Eq. 8, float16 weight step
    ('configs/darts_cifar10.py', ['model.hvp=exact'], ['--amp']),
    ('configs/darts_cifar10_first_order.py', [], ['--amp']),
    ('configs/darts_cifar10.py', ['optim_wrapper.architecture.dtype=bfloat16'], ['--amp']),
], ids=['float32', 'amp_second_order', 'amp_exact_hvp', 'amp_first_order', 'amp_bfloat16'])
def test_search_on_cuda_replays_cuda_graphs(cifar_root, tmp_path, config, extra, args):
    """On CUDA, Darts captures the α step's passes and the weight step's pass as CUDA graphs (4 steps an epoch);
    --amp: the weight step in mixed precision under GradScaler, the α step in float32 (README, Precision)."""
    work_dir = str(tmp_path / 'search')
    result = train(config, work_dir, tiny_options(cifar_root, 2, extra + [
        'train_dataloader.batch_size=4', 'arch_dataloader.batch_size=4']), args)
    log = result.stdout + result.stderr
    assert ('AmpOptimWrapper' in log) == ('--amp' in args)
    for name in ('α step', 'weight step'):
        assert f'the {name} pass is captured as a CUDA graph' in log
    assert Genotype.from_file(osp.join(work_dir, 'genotype.json'), num_nodes=2).meta['epoch'] == 2
    saved = alphas(osp.join(work_dir, 'epoch_2.pth'))
    assert all(torch.isfinite(v).all() and v.abs().max() > 0 for v in saved.values())


@pytest.mark.cuda
def test_amp_retrain_on_cuda(cifar_root, tmp_path):
    options = ['--cfg-options', 'model.backbone.base_channels=4', 'model.backbone.num_layers=3',
               'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']
    for loader in ('train_dataloader', 'val_dataloader'):
        options += [f'{loader}.dataset.type=LocalCIFAR10', f'{loader}.dataset.data_root={cifar_root}',
                    f'{loader}.batch_size=8', f'{loader}.num_workers=0']
    result = train('configs/darts_cifar10_retrain.py', str(tmp_path / 'retrain'), options, ['--amp'])
    log = result.stdout + result.stderr
    assert 'loss_aux' in log and re.search(r'accuracy/top1: \d', log)
