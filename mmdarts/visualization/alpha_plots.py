"""Pictures of the architecture weights: a softmax(α) heatmap per cell type, and each edge's op weights by epoch."""
import math
import re
from typing import Dict, List, Sequence

import numpy as np
from matplotlib.figure import Figure

from mmdarts.structures import edge_names

from .cell_diagram import OP_COLOURS


def tex_edge_names(num_nodes: int) -> List[str]:
    """:func:`~mmdarts.structures.edge_names` with the inputs as matplotlib mathtext (``c_{k-2}`` drawn with its
    subscript, not its braces)."""
    return [re.sub(r'(c_\{k-[12]\})', r'$\1$', name) for name in edge_names(num_nodes)]


def draw_heatmap(weights: np.ndarray, primitives: Sequence[str], num_nodes: int, title: str) -> Figure:
    """softmax(α) of one cell type, edges (rows) x ops (columns), each cell annotated with its value."""
    weights = np.asarray(weights, dtype=float)
    fig = Figure(figsize=(1.1 + 0.75 * len(primitives), 1.2 + 0.32 * weights.shape[0]))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(weights, cmap='viridis', aspect='auto', vmin=0., vmax=max(float(weights.max()), 1e-6))
    ax.set_xticks(range(len(primitives)), labels=list(primitives), rotation=40, ha='right', fontsize=8)
    ax.set_yticks(range(weights.shape[0]), labels=tex_edge_names(num_nodes), fontsize=8)
    for r, c in np.ndindex(weights.shape):
        ax.text(c, r, f'{weights[r, c]:.2f}', ha='center', va='center', fontsize=6,
                color='white' if weights[r, c] < 0.6 * weights.max() else 'black')
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def draw_evolution(epochs: Sequence[int], history: Sequence[np.ndarray], primitives: Sequence[str], num_nodes: int,
                   title: str) -> Figure:
    """Each edge's op weights (one line per op) over the epochs of ``history`` (a list of (E, O) arrays)."""
    stacked = np.asarray(history, dtype=float)  # (T, E, O)
    names = tex_edge_names(num_nodes)
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.2 * rows + 0.6))
    for e, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, e + 1)
        for o, op in enumerate(primitives):
            ax.plot(list(epochs), stacked[:, e, o], label=op, color=OP_COLOURS.get(op), lw=1.2, marker='.')
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    top = 1 - 0.9 / fig.get_figheight()  # room for the title and, under it, the legend
    fig.suptitle(title, fontsize=10, y=0.995)
    fig.legend(handles, labels, loc='upper center', bbox_to_anchor=(0.5, 1 - 0.35 / fig.get_figheight()),
               ncol=min(len(primitives), 8), fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


def op_totals(weights: np.ndarray, primitives: Sequence[str]) -> Dict[str, float]:
    """Each op's weight summed over the edges of a cell (a cell collapsing to skips shows as one rising curve)."""
    return {op: float(v) for op, v in zip(primitives, np.asarray(weights).sum(axis=0))}
