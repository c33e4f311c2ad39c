"""README's "Your own data", run as written on an image folder listed class by class (scikit-learn's digits).

Before the stratified halves, the weights' half of such a folder held classes 0 and 1, α's half 2 and 3: the search
scored 0 % on the α half, α stayed uniform and the genotype was a tie-break, without a word.
"""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch
from data_writers import write_digit_folders
from helpers import REPO, subprocess_env
from mmengine.config import Config

from mmdarts.engine.hooks.genotype_export_hook import op_weight_spread
from mmdarts.models.mutators.diff_mutator import mixed_op_weights
from mmdarts.structures import Genotype


def readme_section(title: str) -> str:
    text = open(osp.join(REPO, 'README.md')).read()
    start = text.index(f'## {title}\n')
    end = text.find('\n## ', start + 1)
    return text[start:end if end >= 0 else None]


def code_blocks(section: str, language: str):
    return re.findall(rf'```{language}\n(.*?)```', section, flags=re.S)


def commands(block: str):
    """The command lines of a bash block: continuations joined, comments dropped."""
    joined = block.replace('\\\n', ' ')
    return [line.split('  #')[0].strip() for line in joined.splitlines() if line.strip() and not line.startswith('#')]


@pytest.fixture
def project(tmp_path):
    """A folder laid out as a clone is (configs, tools, .venv), with the user's data in data/custom."""
    for name in ('configs', 'tools'):
        os.symlink(osp.join(REPO, name), tmp_path / name)
    os.symlink(sys.prefix, tmp_path / '.venv')
    write_digit_folders(str(tmp_path / 'data/custom/train'), per_class=32)
    write_digit_folders(str(tmp_path / 'data/custom/val'), per_class=8, offset=40)
    return tmp_path


def run(command: str, cwd, timeout: int = 400) -> str:
    env = subprocess_env()
    result = subprocess.run(['bash', '-c', command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f'{command}\n{log[-4000:]}'
    return log


@pytest.mark.slow
def test_readme_custom_data_commands_run_as_written(project):
    section = readme_section('Your own data')
    for block in code_blocks(section, 'python'):
        name = block.splitlines()[0].lstrip('# ').strip()
        (project / name).write_text(block)
    search, retrain, test = commands(code_blocks(section, 'bash')[0])

    log = run(search, project)
    halves = re.findall(r'SubsetDataset \[(\S+), (\S+)\) of CustomDataset: (\d+) samples, stratified, per class '
                        r'(\{.*?\})', log)
    assert ('0.0', '0.5', '64', "{'0': 16, '1': 16, '2': 16, '3': 16}") in halves
    assert ('0.5', '1.0', '64', "{'0': 16, '1': 16, '2': 16, '3': 16}") in halves
    assert 'Search finished. Genotype: ' in log and 'nearly uniform' not in log
    state = torch.load(project / 'work_dirs/my_search/epoch_4.pth', weights_only=False)['state_dict']
    weights = {k: mixed_op_weights(v) for k, v in state.items() if k.startswith('mutator.alphas.')}
    assert op_weight_spread(weights) > 0.05  # α moved: at the start every op weighs 0.125 to within 0.5 %

    run(retrain, project)
    searched = Genotype.from_file(str(project / 'work_dirs/my_search/genotype.json'))
    shutil.move(project / 'work_dirs/my_search', project / 'moved_search')  # the search's work dir goes away
    log = run(test, project)
    assert re.search(r'accuracy/top1: \d', log)
    saved = Config.fromfile(str(project / 'work_dirs/my_retrain/my_retrain.py')).model.backbone.genotype
    assert Genotype.from_dict(saved.to_dict()) == searched  # the genotype itself, not a path to it


def test_testing_with_the_repository_config_names_what_is_wrong(project):
    """The issue's `tools/test.py configs/darts_custom_retrain.py epoch_1.pth`: missing val data, named."""
    torch.save({'meta': {}, 'state_dict': {}}, project / 'epoch_1.pth')
    shutil.rmtree(project / 'data/custom/val')
    result = subprocess.run([sys.executable, 'tools/test.py', 'configs/darts_custom_retrain.py', 'epoch_1.pth'],
                            cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "test_dataloader.dataset.data_root='data/custom/val' does not exist" in result.stderr
    assert 'Traceback' not in result.stderr
