from .darts_net import DartsNet
from .darts_supernet import DartsSupernet

__all__ = ['DartsNet', 'DartsSupernet']
