"""The stop rules fire exactly where their definitions say, on given eigenvalue and genotype sequences."""
import pytest

from mmdarts.engine.hooks.stop_rules import darts_es, darts_plus, genotype_unchanged, local_averages
from mmdarts.structures import Genotype


def every_second_epoch(values):
    return [(2 * k, v) for k, v in enumerate(values)]


def test_local_averages_are_r_darts_centred_windows():
    assert local_averages([1, 2, 3, 4, 5, 6, 7], 5) == [2, 2.5, 3, 4, 5]


@pytest.mark.parametrize('last,fires', [(2.6, True), (2.4, False)])
def test_darts_es_fires_at_the_first_evaluation_its_defaults_allow(last, fires):
    """Eleven flat evaluations (epochs 0-20), then one more at epoch 22: the average centred on epoch 18 is
    (4 + last) / 5 against 1 at epoch 10, so it fires for last > 2.5, keeping epoch 10's genotype."""
    history = every_second_epoch([1.0] * 11 + [last])
    verdict = darts_es(history)
    assert (verdict is not None) == fires
    if fires:
        assert verdict.rule == 'darts_es' and verdict.epoch == 10
        assert 'around epoch 18 (1.32) is 1.32x the average around epoch 10 (1)' in verdict.why
    assert darts_es(history[:-1]) is None  # before epoch 22 it cannot: the kept epoch would be before 10
    assert darts_es(every_second_epoch([1.0] * 10 + [9.0])) is None


def test_darts_es_stays_quiet_on_r_darts_noisy_single_batch_values():
    """R-DARTS's published single-batch eigenvalues over epochs 10-18 (S1, CIFAR-10): 0.25, 0.36, 0.23, 0.39, after
    a slow start from 0.18 at epoch 0: noise, no collapse."""
    values = [0.18, 0.19, 0.21, 0.22, 0.24, 0.25, 0.36, 0.23, 0.39, 0.30, 0.33, 0.31]
    assert all(darts_es(every_second_epoch(values[:n])) is None for n in range(1, len(values) + 1))
    # the rise to its last epochs' 0.71 (max 1.32) fires, keeping a genotype from before the rise
    rising = values + [0.5, 0.71, 1.32, 0.9]
    verdicts = [darts_es(every_second_epoch(rising[:n])) for n in range(len(values) + 1, len(rising) + 1)]
    first = next(v for v in verdicts if v is not None)
    assert first.epoch == 2 * (len(values) + verdicts.index(first) - 2 - 4)


def genotype(skips, extra_op='sep_conv_3x3'):
    edges = [('skip_connect', 0)] * skips + [(extra_op, 1)] * (4 - skips)
    return Genotype(normal=edges, normal_concat=[2, 3], reduce=[('max_pool_3x3', 0)] * 4, reduce_concat=[2, 3])


def test_darts_plus_fires_at_two_skip_connections_from_its_earliest_epoch():
    assert darts_plus([(9, genotype(3))]) is None  # too early
    assert darts_plus([(10, genotype(1))]) is None
    verdict = darts_plus([(10, genotype(1)), (11, genotype(2))])
    assert verdict.epoch == 11 and 'holds 2 skip connections' in verdict.why


def test_genotype_unchanged_fires_after_its_epochs():
    history = [(e, genotype(1)) for e in range(1, 12)]
    assert genotype_unchanged(history[:10], epochs=10) is None  # epochs 1-10: nine epochs without a change
    assert genotype_unchanged(history, epochs=10).epoch == 11
    changed = history[:5] + [(6, genotype(2))] + history[6:]
    assert genotype_unchanged(changed, epochs=10) is None
