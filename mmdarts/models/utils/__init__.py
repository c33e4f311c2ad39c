from .augment_cell import AugmentCell, drop_path
from .derived_channels import complete_head_channels
from .network_checks import check_input_size

__all__ = ['AugmentCell', 'check_input_size', 'complete_head_channels', 'drop_path']
