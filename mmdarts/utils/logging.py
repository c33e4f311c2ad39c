from typing import Sequence

import torch


def format_weight_table(weights: torch.Tensor, primitives: Sequence[str], edge_names: Sequence[str]) -> str:
    """Formats a ``(num_edges, num_ops)`` table of op weights (e.g. softmax(α)) as fixed-width text."""
    width = max(len(p) for p in primitives) + 1
    name_width = max(len(n) for n in edge_names) + 1
    lines = [' ' * name_width + ''.join(p.rjust(width) for p in primitives)]
    for name, row in zip(edge_names, weights.tolist()):
        lines.append(name.ljust(name_width) + ''.join(f'{v:.3f}'.rjust(width) for v in row))
    return '\n'.join(lines)
