from .darts import Darts, sgd_hyperparameters

__all__ = ['Darts', 'sgd_hyperparameters']
