"""Argument checks (also the hooks') and the cell layout shared by the search and the retrained networks."""
import inspect
from typing import Any, Dict, List, Sequence, Tuple, Union

import torch


def check_ints(where: str, **values) -> None:
    """Each value must be a positive integer (not a bool); the error names it."""
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f'{where}: {name} must be an integer >= 1, got {value!r}')


def check_out_indices(out_indices: Union[int, Sequence[int]], num_layers: int, where: str) -> Tuple[int, ...]:
    """``out_indices`` as non-negative cell indices (negative ones count from the end)."""
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    for i in out_indices:
        if not isinstance(i, int) or not -num_layers <= i < num_layers:
            raise ValueError(f'{where}: out_indices entry {i!r} out of range for {num_layers} cells')
    indices = tuple(i % num_layers for i in out_indices)
    if len(set(indices)) < len(indices):
        raise ValueError(f'{where}: out_indices {tuple(out_indices)} name a cell twice')
    return indices


def reduction_layers(num_layers: int) -> List[int]:
    """The cells that halve the resolution: at 1/3 and 2/3 of the depth (Liu et al., 2019, Sec. 3.1.1)."""
    return sorted({num_layers // 3, 2 * num_layers // 3})


def check_both_cell_types(num_layers: int, where: str) -> None:
    """A search needs a normal and a reduction cell: with fewer than 3 cells every cell is a reduction cell (at 1/3
    and 2/3 of the depth), so the normal cell's α would never be used or learned."""
    if num_layers < 3:
        raise ValueError(f'{where}: num_layers={num_layers} makes every cell a reduction cell (cells '
                         f'{reduction_layers(num_layers)} at 1/3 and 2/3 of the depth), leaving the normal cell\'s α '
                         'unused; a search needs num_layers >= 3 (model.architecture.backbone.num_layers)')


def cell_channels(base_channels: int, num_layers: int) -> List[Tuple[int, bool]]:
    """``(node channels, reduction)`` of each cell: the channels double at each reduction cell."""
    reductions = reduction_layers(num_layers)
    layout, channels = [], base_channels
    for i in range(num_layers):
        channels *= 2 if i in reductions else 1
        layout.append((channels, i in reductions))
    return layout


def constructor_arguments(cls: type, kwargs: Dict[str, Any], where: str) -> Dict[str, Any]:
    """``kwargs`` completed with the defaults of ``cls.__init__``, as the constructor would see them."""
    try:
        bound = inspect.signature(cls.__init__).bind(None, **kwargs)
    except TypeError as error:
        raise ValueError(f'{where}: {error} ({cls.__name__})') from None
    bound.apply_defaults()
    return {name: value for name, value in bound.arguments.items() if name != 'self'}


def check_input_size(x: torch.Tensor, divisor: int, where: str, reductions: int) -> None:
    """Refuses inputs whose height or width the network's total stride ``divisor`` would reduce below 1x1,
    naming the smallest size that works."""
    if x.dim() != 4:
        raise ValueError(f'{where}: expected an input of shape (N, C, H, W), got {tuple(x.shape)}')
    height, width = x.shape[-2:]
    if min(height, width) < divisor:
        raise ValueError(f'{where}: input {height}x{width} is too small for {reductions} reductions '
                         f'(a total stride of {divisor}); use images of at least {divisor}x{divisor}')
