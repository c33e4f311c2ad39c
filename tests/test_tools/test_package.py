"""mmdarts as an OpenMMLab package: `mmdarts::` configs, `mim`, mmpretrain's tools, from a folder outside the clone,
in the environment `make setup` builds and from a wheel installed into a fresh environment."""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import sysconfig
import types

import pytest
from data_writers import write_fake_cifar10
from helpers import REPO, subprocess_env
from test_custom_data import code_blocks, commands, readme_section

import mmdarts_startup
from mmdarts.structures import Genotype

BIN = osp.dirname(sys.executable)


def run(args, cwd, python=sys.executable, timeout=300):
    """A command in ``cwd`` with the environment's scripts (mim) first on PATH, this process's share of threads."""
    env = subprocess_env(PATH=f'{osp.dirname(python)}{os.pathsep}{BIN}{os.pathsep}{os.environ.get("PATH", "")}')
    env.pop('PYTHONPATH', None)
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f'{args}\n{log[-4000:]}'
    return log


def test_torchvision_imports_at_interpreter_start(tmp_path):
    """mmpretrain's own tools import torchvision before mmdarts: mmdarts-startup.pth makes that work."""
    log = run([sys.executable, '-c', 'import sys, torchvision, mmpretrain.models; '
               'print("mmdarts imported:", "mmdarts" in sys.modules)'], tmp_path)
    assert 'mmdarts imported: False' in log


def test_the_startup_patches_only_mmdarts_paths():
    config = types.SimpleNamespace(_get_package_and_cfg_path=lambda path: ('mmpretrain', path.split('::')[1]),
                                   get_installed_path=lambda package: f'/site/{package}')
    assert mmdarts_startup.patch_mmengine_config(config)
    assert not mmdarts_startup.patch_mmengine_config(config)  # once
    assert config._get_package_and_cfg_path('mmdarts::darts_cifar10.py') == ('mmdarts', 'darts_cifar10.py')
    assert config._get_package_and_cfg_path('mmpretrain::resnet/r.py') == ('mmpretrain', 'resnet/r.py')
    assert config.get_installed_path('mmdarts') == osp.join(REPO, 'mmdarts')  # where Python imports it from
    assert config.get_installed_path('mmpretrain') == '/site/mmpretrain'
    exec(mmdarts_startup.PTH_LINE, {})  # what site.py runs: installs the finder once
    assert sum(isinstance(f, mmdarts_startup.StartupFinder) for f in sys.meta_path) == 1


@pytest.fixture
def project(tmp_path):
    """A user's folder outside the clone with CIFAR-10 in the official format (64 images a search half)."""
    write_fake_cifar10(str(tmp_path / 'data/cifar10'), num_train=128, num_test=16)
    return tmp_path


@pytest.mark.slow
def test_readme_own_project_section_runs_as_written(project):
    """README "Use mmdarts from your own project": `mim train mmdarts` on a config inheriting mmdarts::, then
    mmpretrain's train and test on a classifier with the searched DartsNet, in the make-setup environment."""
    section = readme_section('Use mmdarts from your own project')
    for block in code_blocks(section, 'python'):
        (project / block.splitlines()[0].lstrip('# ').strip()).write_text(block)
    search, train, test = commands(code_blocks(section, 'bash')[0])
    log = run(['bash', '-c', search], project)
    assert 'Search finished' in log
    assert Genotype.from_file(str(project / 'work_dirs/my_search/genotype.json')).meta['epoch'] == 1
    assert 'accuracy/top1' in run(['bash', '-c', train], project)
    assert re.search(r'Epoch\(test\).*accuracy/top1: \d', run(['bash', '-c', test], project))
    flops = glob.glob(osp.join(mmdarts_startup.package_folder('mmpretrain'), '.mim/tools/analysis_tools/get_flops.py'))
    assert 'Params' in run([sys.executable, flops[0], 'my_classifier.py'], project)


def copy_source(dest):
    """The files a clone has (no build folder, no .mim links, no caches)."""
    for name in ('setup.py', 'MANIFEST.in', 'README.md', 'model-index.yml', 'mmdarts_startup.py'):
        shutil.copy(osp.join(REPO, name), dest)
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim')
    for name in ('mmdarts', 'configs', 'tools'):
        shutil.copytree(osp.join(REPO, name), osp.join(dest, name), ignore=ignore)


SEARCH = '''_base_ = 'mmdarts::darts_cifar10.py'
model = dict(architecture=dict(backbone=dict(base_channels=4, num_layers=3, num_nodes=2)))
_cifar = dict(type='LocalCIFAR10', data_root='data/cifar10')
train_dataloader = dict(num_workers=0, dataset=dict(dataset=_cifar))
arch_dataloader = dict(num_workers=0, dataset=dict(dataset=_cifar))
val_dataloader = dict(num_workers=0, dataset=dict(dataset=_cifar))
train_cfg = dict(max_epochs=1)
'''
RETRAIN = '''_base_ = 'mmdarts::darts_cifar10_retrain.py'
model = dict(backbone=dict(genotype='work_dirs/search/genotype.json', base_channels=4, num_layers=3))
_cifar = dict(type='LocalCIFAR10', data_root='data/cifar10')
train_dataloader = dict(batch_size=128, num_workers=0, dataset=_cifar)
val_dataloader = dict(num_workers=0, dataset=_cifar)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1)
'''


@pytest.mark.slow
def test_a_wheel_installs_into_a_fresh_environment_and_runs_from_any_folder(project, tmp_path_factory):
    """pip install of a wheel built from a clean copy: mmdarts importable without the clone, configs reachable by
    mmdarts::, one search and one retrain iteration of a shrunk model through `mim train mmdarts`."""
    build = tmp_path_factory.mktemp('build')
    source, dist, venv = build / 'mmdarts', build / 'dist', build / 'venv'
    source.mkdir()
    copy_source(str(source))
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(dist),
         str(source)], build)
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', '--system-site-packages', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    # over the test environment (itself a venv): its packages after the fresh one's, nothing downloaded
    fresh_site = run([python, '-c', 'import sysconfig; print("site", sysconfig.get_paths()["purelib"])'], build)
    with open(osp.join(re.search(r'site (\S+)', fresh_site).group(1), 'test_environment.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    run([python, '-m', 'pip', 'install', '--no-deps', '--no-index', '-q', *glob.glob(str(dist / '*.whl'))], build)
    shutil.rmtree(source)  # nothing may come from the sources any more

    log = run([python, '-c', 'import mmdarts, mmdarts_startup; print("from", mmdarts.__file__)'], project)
    site = re.search(r'from (\S+)', log).group(1)
    assert site.startswith(str(venv)), site
    assert osp.isfile(osp.join(osp.dirname(site), '.mim', 'configs', '_base_', 'models', 'darts_supernet_cifar.py'))
    (project / 'search.py').write_text(SEARCH)
    (project / 'retrain.py').write_text(RETRAIN)
    assert 'Search finished' in run([python, '-m', 'mim', 'train', 'mmdarts', 'search.py', '--work-dir',
                                     'work_dirs/search'], project, python)
    log = run([python, '-m', 'mim', 'train', 'mmdarts', 'retrain.py', '--work-dir', 'work_dirs/retrain'], project,
              python)
    assert 'loss_aux' in log and re.search(r'Epoch\(train\) +\[1\]\[1/1\]', log)
    assert f'{venv}' in log  # mim ran the tools the wheel installed
    log = run([python, '-m', 'mim', 'test', 'mmdarts', 'retrain.py', '--checkpoint', 'work_dirs/retrain/epoch_1.pth',
               '--work-dir', 'work_dirs/test'], project, python)
    assert re.search(r'Epoch\(test\).*accuracy/top1: \d', log)
