"""A search stopped by a rule, end to end (tools/train.py on the digits): it ends after the epoch the rule fires,
genotype.json is the kept epoch's genotype, and --resume says it had stopped and trains no further."""
import json
import os.path as osp

import pytest
from helpers import REPO, run_python

pytestmark = pytest.mark.slow  # end-to-end runs of the tools: `make test-slow`

# DARTS+ told to fire at any skip count from epoch 1 on: a rule that fires, deterministically, after epoch 1
CONFIG = """_base_ = {base!r}
train_cfg = dict(max_epochs=3)
model = dict(unroll=False)
custom_hooks = [
    dict(type='GenotypeExportHook', interval=1),
    dict(type='SearchHealthHook', interval=1, iterations=2, stop=True,
         stop_rules=dict(darts_plus=dict(skip_connects_at=0, earliest_epoch=1))),
]
"""


def train(tmp_path, *extra):
    config = tmp_path / 'stopping_search.py'
    config.write_text(CONFIG.format(base=osp.join(REPO, 'configs/darts_digits_demo.py')))
    result = run_python([osp.join(REPO, 'tools/train.py'), str(config), '--work-dir', str(tmp_path / 'work'),
                         *extra], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_a_stopped_search_keeps_the_rules_genotype_and_resumes_stopped(tmp_path):
    log = train(tmp_path)
    work = tmp_path / 'work'
    assert 'Epoch 1: stop rule darts_plus fires' in log
    assert not osp.exists(work / 'genotype_epoch_2.json')  # no second epoch
    assert json.loads((work / 'genotype.json').read_text()) == json.loads(
        (work / 'genotype_epoch_1.json').read_text())
    assert 'Stopped by darts_plus' in log and 'darts_plus: stopped the search at the genotype of epoch 1' in log
    log = train(tmp_path, '--resume')
    assert 'This search had stopped: rule darts_plus' in log
    assert not osp.exists(work / 'genotype_epoch_2.json')
