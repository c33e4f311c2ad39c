from .darts_search_loop import DartsSearchLoop

__all__ = ['DartsSearchLoop']
