"""`ks.backend`: the names Keras scripts reach through `keras.backend` (`K = keras.backend`).

    ks.backend.clear_session()                    # fresh layer names: get_layer("dense") again
    K.get_value(model.optimizer.learning_rate)    # a NumPy value
    K.set_value(model.optimizer.learning_rate, 1e-3)
    K.floatx(), K.set_floatx("float64"), K.epsilon(), K.image_data_format()

Keras 3.16 exports clear_session, floatx, set_floatx, epsilon, set_epsilon, image_data_format and
set_image_data_format here (the setters of the last three also under `keras.config`, and
clear_session under `keras.utils`); get_value / set_value are Keras 2's, still found in LR-finder
and one-cycle callbacks, and kept for them. The math of Keras 2's backend (K.mean, K.square, ...)
lives in `ks.ops`.
"""

import gc

import numpy as np
import torch

from .config import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from .layers.base import Layer, Weight
from .optimizers.learning_rate import LearningRate


def backend() -> str:
    """The name of the tensor library underneath: always "torch"."""
    return "torch"


def clear_session(free_memory: bool = True) -> None:
    """Forget the global state that naming keeps, as Keras does: the next Dense layer is named
    "dense" again (so `model.get_layer("dense")` works in every fold of a K-fold loop).

    free_memory: also run Python's garbage collector (and release cached CUDA memory).
    Models and layers that are still referenced keep working; only new names restart.
    """
    Layer._counters.clear()
    if free_memory:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _is_variable(x) -> bool:
    """A learning rate, a weight, a metric's variable: anything with numpy() and assign()."""
    return isinstance(x, (LearningRate, Weight)) or (
        not isinstance(x, torch.Tensor) and callable(getattr(x, "numpy", None))
        and callable(getattr(x, "assign", None)))


def get_value(x):
    """The value of `x` as NumPy: a learning rate (`optimizer.learning_rate`), a weight, a
    metric's variable, a tensor, an array; a Python number is returned as is."""
    if _is_variable(x):
        return x.numpy()
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (np.ndarray, np.generic, int, float)) and not isinstance(x, bool):
        return x
    raise TypeError(f"Invalid x: get_value expects a learning rate, a weight, a tensor or an array, "
                    f"received {type(x).__name__}")


def set_value(x, value) -> None:
    """Set `x` in place: a learning rate (`K.set_value(model.optimizer.learning_rate, 1e-3)`), a
    weight, a metric's variable or a tensor (same shape; the value is converted to its dtype and
    device)."""
    if _is_variable(x):
        x.assign(value)
        return
    if isinstance(x, torch.Tensor):
        new = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
        if tuple(new.shape) != tuple(x.shape):
            raise ValueError(f"Invalid value: expected shape {tuple(x.shape)} (that of x), "
                             f"received {tuple(new.shape)}")
        x.copy_(new)
        return
    raise TypeError(f"Invalid x: set_value expects a learning rate, a weight or a tensor to set in "
                    f"place, received {type(x).__name__} (a Python number cannot be changed in "
                    f"place; assign the attribute instead)")


__all__ = ["backend", "clear_session", "epsilon", "floatx", "get_value", "image_data_format",
           "set_epsilon", "set_floatx", "set_image_data_format", "set_value"]
