from .darts_supernet import DartsSupernet

__all__ = ['DartsSupernet']
