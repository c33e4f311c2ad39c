from .alpha_plots import draw_evolution, draw_heatmap, edge_names, op_totals
from .cell_diagram import draw_cell, figure_to_rgb, save_figure, state_name

__all__ = [
    'draw_cell', 'draw_heatmap', 'draw_evolution', 'edge_names', 'op_totals', 'figure_to_rgb', 'save_figure',
    'state_name'
]
from .health_plots import draw_health  # noqa: E402
from .search_pictures import update_history, write_search_pictures  # noqa: E402

__all__ += ['draw_health', 'update_history', 'write_search_pictures']
