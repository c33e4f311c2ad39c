"""README's "Genotypes from anywhere", run as written: a genotype pasted from the DARTS code, drawn, exported,
counted, and pt.darts's form in a config of one's own."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from helpers import REPO, subprocess_env

from mmdarts.structures import Genotype, load_genotype


def readme_subsection(title: str) -> str:
    text = open(osp.join(REPO, 'README.md')).read()
    start = text.index(f'### {title}\n')
    return text[start:re.compile(r'\n##+ ').search(text, start + 1).start()]


def run_block(block: str, cwd) -> str:
    env = subprocess_env()
    result = subprocess.run(['bash', '-e', '-c', block], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f'{block}\n{(result.stdout + result.stderr)[-4000:]}'
    return result.stdout + result.stderr


@pytest.mark.slow
def test_readme_genotype_examples_run_as_written(tmp_path):
    for name in ('configs', 'tools'):
        os.symlink(osp.join(REPO, name), tmp_path / name)
    os.symlink(sys.prefix, tmp_path / '.venv')
    section = readme_subsection('Genotypes from anywhere')
    pasted, config, count = re.findall(r'```(?:bash|python)\n(.*?)```', section, flags=re.S)
    log = run_block(pasted, tmp_path)
    pc_darts = load_genotype('PC_DARTS')
    assert load_genotype(str(tmp_path / 'pasted.txt')) == pc_darts
    assert Genotype.from_file(str(tmp_path / 'exported/genotype.json')) == pc_darts
    assert load_genotype(str(tmp_path / 'exported/genotype.txt')) == pc_darts
    assert all((tmp_path / 'pictures' / f'pasted_{cell}.{ext}').exists() for cell in ('normal', 'reduce')
               for ext in ('png', 'svg'))
    assert 'parameters (inference, auxiliary tower excluded): 3.635 M' in log
    (tmp_path / config.splitlines()[0].lstrip('# ')).write_text(config)
    assert 'parameters (inference, auxiliary tower excluded): 3.635 M' in run_block(count, tmp_path)
