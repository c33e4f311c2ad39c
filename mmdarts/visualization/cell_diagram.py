"""Cell diagrams of a genotype (inputs c_{k-2}, c_{k-1}, intermediate nodes, output c_{k}, edges labelled with
their op), drawn with matplotlib's Agg canvas: PNG and SVG with nothing but pip packages."""
import io
from typing import Dict, List, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from mmdarts.structures import Genotype, state_name
from mmdarts.utils.checkpoint_files import atomic_write

OP_COLOURS = {
    'none': '#bbbbbb', 'max_pool_3x3': '#4c72b0', 'avg_pool_3x3': '#64b5cd', 'skip_connect': '#55a868',
    'sep_conv_3x3': '#c44e52', 'sep_conv_5x5': '#dd8452', 'dil_conv_3x3': '#8172b3', 'dil_conv_5x5': '#937860'
}
DrawnEdge = Tuple[str, str, str]


def draw_cell(genotype: Genotype, cell: str = 'normal') -> Tuple[Figure, List[DrawnEdge]]:
    """A figure of one cell of ``genotype`` (``'normal'`` or ``'reduce'``), and the edges it drew as
    ``(from, to, label)``: op edges into nodes, and unlabelled ``''`` edges from concatenated states to c_{k}."""
    edges = getattr(genotype, cell)
    concat = getattr(genotype, f'{cell}_concat')
    nodes_of = genotype.edge_nodes(cell)
    num_nodes = max(nodes_of) + 1
    # Layered left to right, as graphviz draws the paper's figures: a node's column is its depth in the cell.
    depth = {0: 0, 1: 0}
    for i in range(num_nodes):
        depth[i + 2] = 1 + max(depth[j] for (_, j), n in zip(edges, nodes_of) if n == i)
    columns: Dict[int, List[int]] = {}
    for state in range(2, num_nodes + 2):
        columns.setdefault(depth[state], []).append(state)
    pos: Dict[str, Tuple[float, float]] = {'c_{k-2}': (0., 1.), 'c_{k-1}': (0., -1.)}
    for col, states in columns.items():
        for row, state in enumerate(states):
            pos[str(state - 2)] = (2.2 * col, 1.6 * ((len(states) - 1) / 2 - row))
    pos['c_{k}'] = (2.2 * (max(columns) + 1), 0.)
    height = max(len(states) for states in columns.values())
    fig = Figure(figsize=(2.4 + 2.4 * (max(columns) + 1), 1.6 + 1.2 * max(height, 2)))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.9))
    ax.set_axis_off()
    ax.set_title(f'{cell} cell', fontsize=11)
    drawn: List[DrawnEdge] = []

    def arrow(src: str, dst: str, label: str, colour: str, rad: float) -> None:
        ax.add_patch(FancyArrowPatch(pos[src], pos[dst], arrowstyle='-|>', mutation_scale=12, color=colour,
                                     lw=1.6, shrinkA=16, shrinkB=16, connectionstyle=f'arc3,rad={rad}'))
        if label:  # 60% along the curve (matplotlib's arc3 is a quadratic Bézier with this control point)
            (x0, y0), (x1, y1) = pos[src], pos[dst]
            cx, cy = (x0 + x1) / 2 + rad * (y1 - y0), (y0 + y1) / 2 - rad * (x1 - x0)
            t = 0.6
            lx = (1 - t)**2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1
            ly = (1 - t)**2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1
            ax.text(lx, ly, label, fontsize=7, ha='center', va='center', color=colour,
                    bbox=dict(boxstyle='round,pad=0.15', fc='white', ec='none', alpha=0.85))
        drawn.append((src, dst, label))

    for k, ((op, j), node) in enumerate(zip(edges, nodes_of)):
        span = depth[node + 2] - depth[j]
        arrow(state_name(j), str(node), op, OP_COLOURS.get(op, '#333333'), 0.15 * (span - 1) * (1 if k % 2 else -1))
    for state in concat:  # into c_{k}: curved when the straight line would cross a later column's node
        arrow(state_name(state), 'c_{k}', '', '#999999', 0.15 * (max(columns) - depth[state]))
    for name, (x, y) in pos.items():
        kind = 'input' if name.startswith('c_{k-') else 'output' if name == 'c_{k}' else 'node'
        colour = {'input': '#a1d99b', 'node': '#9ecae1', 'output': '#fdd0a2'}[kind]
        ax.text(x, y, f'${name}$' if name.startswith('c_') else name, ha='center', va='center', fontsize=10,
                bbox=dict(boxstyle='round,pad=0.4', fc=colour, ec='#555555'))
    xs, ys = zip(*pos.values())
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    return fig, drawn


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """The figure as an ``(H, W, 3)`` uint8 RGB image (for visualizer backends)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_figure(fig: Figure, stem: str, formats=('png', 'svg'), dpi: int = 120) -> List[str]:
    """Writes ``stem.png`` and ``stem.svg`` (or the given formats), each whole or not at all (an interrupted run
    leaves no truncated picture); returns the paths."""
    paths = []
    for fmt in formats:
        path = f'{stem}.{fmt}'
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=dpi, format=fmt)
        atomic_write(path, buffer.getvalue())
        paths.append(path)
    return paths
