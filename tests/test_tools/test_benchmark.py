import json
import os.path as osp

import pytest
from helpers import REPO, run_python

pytestmark = pytest.mark.slow  # end-to-end runs of the tools: `make test-slow`


def test_benchmark_times_the_real_step(tmp_path):
    out = tmp_path / 'bench.json'
    result = run_python([osp.join(REPO, 'tools/benchmark.py'), osp.join(REPO, 'configs/darts_digits_demo.py'),
                         '--order', '1', '--steps', '1', '--warmup', '0', '--size', '8', '--batch', '4',
                         '--count-ops', '--profile', '3', '--json', str(out)], timeout=200)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    results = json.loads(out.read_text())['results']
    assert [(r['impl'], r['order']) for r in results] == [('plain', None), ('alpha_pass', None), ('mmdarts', '1')]
    profile = results[2]['profile']  # --profile: one more step under torch.profiler, its top operators (CPU)
    assert len(profile['top']) == 3 and profile['device_busy_seconds'] is None and profile['wall_seconds'] > 0
    assert profile['top'][0]['ms'] >= profile['top'][-1]['ms'] > 0 and 'profiled step' in result.stdout
    assert all(r['seconds'] > 0 and r['peak_memory_mb'] > 0 and r['images_per_second'] > 0 for r in results)
    assert 'mmdarts order 1' in result.stdout
    calls = {r['impl']: r['aten_calls'] for r in results}  # a step: the α-only pass and a plain pass, and more
    assert calls['alpha_pass'] < calls['plain'] < calls['mmdarts'] and 'convolution' in results[0]['aten_top']
    assert all(0 < r['aten_views'] < r['aten_calls'] for r in results) and 'not views' in result.stdout


def test_paired_ratio_times_both_steps_in_turns(tmp_path):
    out = tmp_path / 'paired.json'
    result = run_python([osp.join(REPO, 'tools/benchmark.py'), osp.join(REPO, 'configs/darts_digits_demo.py'),
                         '--order', '2', '--paired', '2', '--repeat', '0', '--warmup', '0', '--size', '8',
                         '--batch', '4', '--json', str(out)], timeout=200)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report['results'] == []
    (paired, ) = report['paired']
    assert paired['order'] == '2' and len(paired['times']['mmdarts']) == len(paired['times']['straightforward']) == 2
    ratios = [a / b for a, b in zip(paired['times']['mmdarts'], paired['times']['straightforward'])]
    assert paired['ratios'] == ratios and min(ratios) <= paired['ratio'] <= max(ratios)
    assert 'paired, order 2: mmdarts / straightforward' in result.stdout


def test_graph_variants_run_through_the_capture_path(tmp_path):
    """--cuda-graphs on: each variant replayed (on CPU by mmdarts.testing.OpReplayPass, a graph's contract), with the
    untimed steps it needs to be captured; a replayed step is not counted (its count is the eager structure's)."""
    out = tmp_path / 'graphs.json'
    result = run_python([osp.join(REPO, 'tools/benchmark.py'), osp.join(REPO, 'configs/darts_digits_demo.py'),
                         '--order', '1', '--steps', '1', '--warmup', '0', '--size', '8', '--batch', '4',
                         '--cuda-graphs', 'on', '--graph-backend', 'replay', '--count-ops', '--json', str(out)],
                        timeout=200)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    results = json.loads(out.read_text())['results']
    assert [(r['impl'], r['graphs']) for r in results] == [('plain', True), ('alpha_pass', True), ('mmdarts', True)]
    assert not any('aten_calls' in r for r in results)
    assert 'mmdarts order 1, CUDA graphs' in result.stdout
