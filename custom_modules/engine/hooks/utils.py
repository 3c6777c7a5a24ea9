"""Helpers shared by the hooks: the model inside wrappers, its device, a
value averaged over ranks, the SwAV loss of a model."""
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.model import is_model_wrapper


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """Return the model inside DDP/FSDP/other mmengine wrappers."""
    return model.module if is_model_wrapper(model) else model


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU if it has none)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def get_swav_loss(model: torch.nn.Module) -> torch.nn.Module:
    """The ``SwAVLoss`` (``model.head.loss``) of a possibly wrapped model.

    Raises:
        TypeError: The model has no ``head.loss`` with prototypes and queue.
    """
    loss = getattr(getattr(unwrap_model(model), 'head', None), 'loss', None)
    if loss is None or not hasattr(loss, 'queue') or not hasattr(
            getattr(loss, 'prototypes', None), 'weight'):
        raise TypeError(
            'SwAV hooks need a model whose head.loss is a SwAVLoss (with '
            f'`prototypes` and `queue`); got {type(unwrap_model(model))}')
    return loss


def mean_across_ranks(outputs: Optional[dict], key: str,
                      device: torch.device) -> float:
    """The mean of ``outputs[key]`` over ranks (a collective on all ranks).

    Args:
        outputs (dict, optional): ``train_step`` outputs (log variables).
        key (str): The loss to read.
        device (torch.device): Device of the reduction (CUDA for NCCL).

    Returns:
        float: The mean, NaN where a rank has no such output.
    """
    value = float('nan')
    if outputs is not None and key in outputs:
        value = outputs[key]
        value = float(value.detach() if torch.is_tensor(value) else value)
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    all_reduce(tensor, op='mean')
    return float(tensor.item())
