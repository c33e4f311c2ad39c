from .darts import Darts

__all__ = ['Darts']
