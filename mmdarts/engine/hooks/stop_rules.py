"""Rules that stop a search before it collapses into skip connections, as pure functions of what a search records.

Each takes the history so far, oldest first, and returns None or a :class:`Verdict`: the rule, the epoch whose
genotype the search should keep, and the values that fired it, in words.

- :func:`darts_es`: R-DARTS's DARTS-ES (Zela et al., ICLR 2020, Sec. 4.2): the dominant eigenvalue of ∇²α L_val,
  averaged over a window of ``window`` evaluations centred on each (fewer at the start, from ⌈window/2⌉ on),
  exceeds ``factor`` times the average ``delta`` evaluations earlier; the genotype kept is that earlier one's,
  never from before ``earliest_epoch``. With R-DARTS's defaults (window 5, factor 1.3, delta 4, an evaluation every
  2 epochs, earliest epoch 10) it can first fire at epoch 22, keeping epoch 10's genotype.
- :func:`darts_plus`: DARTS+ (Liang et al., 2019): the derived normal cell holds ``skip_connects`` or more skip
  connections, from ``earliest_epoch`` on; the genotype kept is that epoch's.
- :func:`genotype_unchanged`: the genotype has not changed for ``epochs`` epochs; the genotype kept is the latest.
"""
from typing import Any, NamedTuple, Optional, Sequence, Tuple


class Verdict(NamedTuple):
    rule: str
    epoch: int  # whose genotype to keep
    why: str


def local_averages(values: Sequence[float], window: int) -> list:
    """R-DARTS's local averages: the k-th is centred on evaluation k, the mean of the ``window`` evaluations around
    it (of all so far before there are ``window``); the first once ⌈window/2⌉ evaluations exist."""
    half = -(-window // 2)
    windows = (values[max(0, i + 1 - window):i + 1] for i in range(half - 1, len(values)))
    return [sum(w) / len(w) for w in windows]


def darts_es(history: Sequence[Tuple[int, float]], window: int = 5, factor: float = 1.3, delta: int = 4,
             earliest_epoch: int = 10) -> Optional[Verdict]:
    """DARTS-ES on ``history``, ``(epoch, dominant eigenvalue)`` of each evaluation (equally spaced)."""
    averages = local_averages([v for _, v in history], window)
    current = len(averages) - 1  # centred on evaluation `current`
    earlier = current - delta
    if earlier < 0 or history[earlier][0] < earliest_epoch or averages[earlier] <= 0:
        return None  # too early, or no rise to measure from a flat or negative curvature
    ratio = averages[current] / averages[earlier]
    if not ratio > factor:
        return None
    return Verdict('darts_es', history[earlier][0],
                   f'the eigenvalue averaged around epoch {history[current][0]} ({averages[current]:.4g}) is '
                   f'{ratio:.2f}x the average around epoch {history[earlier][0]} ({averages[earlier]:.4g}), over '
                   f'{factor}x')


def skip_connects(genotype: Any, cell: str = 'normal') -> int:
    return sum(op == 'skip_connect' for op, _ in getattr(genotype, cell))


def darts_plus(history: Sequence[Tuple[int, Any]], skip_connects_at: int = 2, earliest_epoch: int = 10
               ) -> Optional[Verdict]:
    """DARTS+ on ``history``, ``(epoch, genotype)`` of each epoch."""
    epoch, genotype = history[-1]
    count = skip_connects(genotype)
    if epoch < earliest_epoch or count < skip_connects_at:
        return None
    return Verdict('darts_plus', epoch, f'the normal cell of epoch {epoch} holds {count} skip connections '
                                        f'({skip_connects_at} or more stop the search)')


def genotype_unchanged(history: Sequence[Tuple[int, Any]], epochs: int = 10) -> Optional[Verdict]:
    """The genotype of ``history`` (``(epoch, genotype)``) the same for the last ``epochs`` epochs."""
    epoch, genotype = history[-1]
    recent = [(e, g) for e, g in history if e >= epoch - epochs]  # the last epoch's among them
    if min(e for e, _ in recent) > epoch - epochs or any(g != genotype for _, g in recent):
        return None  # no record from `epochs` epochs ago, or a change since
    return Verdict('genotype_unchanged', epoch, f'the genotype has not changed since epoch {epoch - epochs}')


STOP_RULES = dict(darts_es=darts_es, darts_plus=darts_plus, genotype_unchanged=genotype_unchanged)
