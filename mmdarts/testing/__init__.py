from .fake_cifar import write_fake_cifar10

__all__ = ['write_fake_cifar10']
from .straightforward import StraightforwardDarts  # noqa: E402

__all__ += ['StraightforwardDarts']
from .image_folder import write_digit_folders  # noqa: E402

__all__ += ['write_digit_folders']
from .precision_reference import alpha_gradient_and_term, precision_report  # noqa: E402

__all__ += ['alpha_gradient_and_term', 'precision_report']
from .op_count import AtenCallCounter, count_aten_calls  # noqa: E402

__all__ += ['AtenCallCounter', 'count_aten_calls']
from .op_replay import OpReplayPass  # noqa: E402

__all__ += ['OpReplayPass']
