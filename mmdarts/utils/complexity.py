from typing import Dict, Sequence

import torch
from mmengine.analysis import get_model_complexity_info


def count_parameters(model: torch.nn.Module) -> Dict[str, int]:
    """Parameters: all, and those used at inference (an auxiliary tower ``head.aux_head`` excluded)."""
    aux = getattr(getattr(model, 'head', None), 'aux_head', None)
    aux_params = sum(p.numel() for p in aux.parameters()) if aux is not None else 0
    total = sum(p.numel() for p in model.parameters())
    return dict(params=total, inference_params=total - aux_params)


def count_model(model: torch.nn.Module, shape: Sequence[int]) -> Dict[str, int]:
    """:func:`count_parameters` and the multiply-adds of one image of ``shape`` (C, H, W), by mmengine's counter
    (convolutions and linear layers, one per multiply-add; BN, pooling and activations are not counted)."""
    model.eval()
    result = get_model_complexity_info(model, input_shape=tuple(shape), show_table=False, show_arch=False)
    return dict(count_parameters(model), flops=int(result['flops']))
