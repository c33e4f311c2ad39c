"""The pictures a search writes after an epoch: cell diagrams, softmax(α) heatmaps, and α's evolution."""
import json
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np

from mmdarts.structures import CELL_TYPES, Genotype
from mmdarts.utils.checkpoint_files import atomic_write

from .alpha_plots import draw_evolution, draw_heatmap
from .cell_diagram import draw_cell, figure_to_rgb, save_figure

HISTORY_FILE = 'alpha_history.json'


def update_history(out_dir: str, epoch: int, weights: Dict[str, np.ndarray],
                   primitives: Sequence[str]) -> Dict[str, List]:
    """Adds epoch's op weights to ``alpha_history.json`` in ``out_dir`` (dropping later epochs a resumed run
    redoes) and returns the whole history: ``{'epochs': [...], 'primitives': [...], 'normal': [(E, O) lists],
    'reduce': [...]}``."""
    path = osp.join(out_dir, HISTORY_FILE)
    history = {'epochs': [], 'primitives': list(primitives), **{cell: [] for cell in CELL_TYPES}}
    if osp.isfile(path):
        with open(path) as f:
            saved = json.load(f)
        if saved.get('primitives') == list(primitives):
            keep = [i for i, e in enumerate(saved['epochs']) if e < epoch]
            for key in ('epochs', *CELL_TYPES):
                history[key] = [saved[key][i] for i in keep]
    history['epochs'].append(epoch)
    for cell in CELL_TYPES:
        history[cell].append(np.asarray(weights[cell]).round(6).tolist())
    atomic_write(path, json.dumps(history).encode())
    return history


def write_search_pictures(out_dir: str, epoch: int, genotype: Genotype, weights: Dict[str, np.ndarray],
                          primitives: Sequence[str], num_nodes: int) -> Dict[str, np.ndarray]:
    """Writes, for each cell type, ``genotype_epoch_{N}_{cell}.png/.svg`` (the diagram), ``alpha_epoch_{N}_{cell}
    .png`` (softmax(α) heatmap) and ``alpha_evolution_{cell}.png`` (each edge's op weights by epoch, so far);
    returns the pictures as RGB arrays by name, for visualizer backends."""
    history = update_history(out_dir, epoch, weights, primitives)
    images = {}
    for cell in CELL_TYPES:
        diagram, _ = draw_cell(genotype, cell)
        save_figure(diagram, osp.join(out_dir, f'genotype_epoch_{epoch}_{cell}'))
        images[f'genotype_{cell}'] = figure_to_rgb(diagram)
        heatmap = draw_heatmap(weights[cell], primitives, num_nodes, f'softmax(α), {cell} cell, epoch {epoch}')
        save_figure(heatmap, osp.join(out_dir, f'alpha_epoch_{epoch}_{cell}'), ('png', ))
        images[f'alpha_{cell}'] = figure_to_rgb(heatmap)
        evolution = draw_evolution(history['epochs'], history[cell], primitives, num_nodes,
                                   f'op weights of the {cell} cell by epoch')
        save_figure(evolution, osp.join(out_dir, f'alpha_evolution_{cell}'), ('png', ))
        images[f'alpha_evolution_{cell}'] = figure_to_rgb(evolution)
    return images
