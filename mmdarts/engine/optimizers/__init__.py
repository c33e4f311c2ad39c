from .darts_optim_wrapper_constructor import DartsOptimWrapperConstructor

__all__ = ['DartsOptimWrapperConstructor']
