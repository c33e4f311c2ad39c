from .op_count import AtenCallCounter, count_aten_calls
from .op_replay import OpReplayPass
from .precision_reference import alpha_gradient_and_term, precision_report
from .straightforward import StraightforwardDarts

__all__ = ['AtenCallCounter', 'OpReplayPass', 'StraightforwardDarts', 'alpha_gradient_and_term', 'count_aten_calls',
           'precision_report']
