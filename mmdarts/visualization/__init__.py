from .alpha_plots import draw_evolution, draw_heatmap, edge_names, op_totals
from .cell_diagram import draw_cell, figure_to_rgb, save_figure, state_name
from .health_plots import draw_health
from .search_pictures import update_history, write_search_pictures

__all__ = ['draw_cell', 'draw_evolution', 'draw_health', 'draw_heatmap', 'edge_names', 'figure_to_rgb', 'op_totals',
           'save_figure', 'state_name', 'update_history', 'write_search_pictures']
