"""Helpers shared by the hooks."""
import torch
from mmengine.dist import all_reduce
from mmengine.model import is_model_wrapper


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """Return the model inside DDP/FSDP/other mmengine wrappers."""
    return model.module if is_model_wrapper(model) else model


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the (possibly wrapped) model's first parameter, CPU if
    it has none."""
    param = next(unwrap_model(model).parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def all_reduce_scalar(value, model: torch.nn.Module, op='mean') -> float:
    """Reduce a number over ranks on the model's device (CUDA for NCCL);
    a collective on every rank."""
    if torch.is_tensor(value):
        value = value.detach()
    tensor = torch.tensor([float(value)],
                          dtype=torch.float64,
                          device=model_device(model))
    all_reduce(tensor, op=op)
    return float(tensor.item())


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
