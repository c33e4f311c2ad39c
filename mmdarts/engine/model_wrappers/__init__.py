from .darts_distributed_wrapper import DartsDistributedWrapper

__all__ = ['DartsDistributedWrapper']
