"""The search's health in one picture: the dominant eigenvalue of ∇²α L_val and the skip connections by epoch."""
from typing import Dict, Sequence, Tuple

from matplotlib.figure import Figure

from .cell_diagram import OP_COLOURS


def draw_health(eigenvalues: Sequence[Tuple[int, float]], skips: Dict[str, Sequence[Tuple[int, int]]],
                kept: Dict[str, int]) -> Figure:
    """Two panels over the epochs: the eigenvalues (``(epoch, value)``), and the skip connections of each cell
    type's genotype (``{cell: [(epoch, count)]}``); a dashed line at each epoch a stop rule keeps (``{rule: epoch}``).
    """
    fig = Figure(figsize=(7.0, 5.0))
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    if eigenvalues:
        top.plot([e for e, _ in eigenvalues], [v for _, v in eigenvalues], marker='o', lw=1.4, color='#c0392b')
    top.set_ylabel('dominant eigenvalue\nof ∇²α L_val', fontsize=8)
    top.set_title('search health', fontsize=10)
    for (cell, history), style in zip(skips.items(), ('-', '--')):
        bottom.plot([e for e, _ in history], [n for _, n in history], style, marker='.',
                    color=OP_COLOURS.get('skip_connect'), label=f'{cell} cell')
    bottom.set_ylabel('skip connections\nin the genotype', fontsize=8)
    bottom.set_xlabel('epoch', fontsize=8)
    bottom.legend(fontsize=7)
    for rule, epoch in kept.items():
        for ax in (top, bottom):
            ax.axvline(epoch, color='grey', ls=':', lw=1)
        top.annotate(f'{rule} keeps {epoch}', (epoch, 1), xycoords=('data', 'axes fraction'), fontsize=7,
                     rotation=90, va='top', ha='right')
    for ax in (top, bottom):
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig
