"""Small user-facing helpers: seeding, plotting a History, one-hot labels."""

import numbers

import numpy as np
import torch

from . import config
from .backend import clear_session
from .explain import explain
from .plot_model import plot_model
from .plotting import plot_history
from .py_dataset import PyDataset
from .random_state import set_random_seed
from .sequence_utils import normalize, pad_sequences, split_dataset
from .sizes import check_allocation


def to_categorical(x, num_classes=None):
    """One-hot rows for integer class labels (Keras's `keras.utils.to_categorical`).

    x: class indices in [0, num_classes), shape (N,) or (N, ..., 1) (a trailing axis of size 1 is
    dropped, as in Keras); a NumPy array, list or tensor. num_classes: None means max(x) + 1.
    Returns shape (*x's shape, num_classes): a float32 NumPy array for NumPy or list input, a
    tensor of floatx on x's device for tensor input.
    """
    is_tensor = isinstance(x, torch.Tensor)
    labels = x.detach().cpu().numpy() if is_tensor else np.asarray(x)
    if labels.dtype == object or not np.issubdtype(labels.dtype, np.number) or labels.size == 0 \
            or not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
        raise ValueError(f"Invalid x: expected integer class labels, received an array of dtype "
                         f"{labels.dtype} and shape {labels.shape} that are not all integers")
    if np.abs(labels).max() >= 2**62:  # no int64 one-hot index that large, nor memory for it
        raise ValueError(f"Invalid x: class labels must be below 2**62, received {labels.max()!r}")
    labels = labels.astype(np.int64)
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(
            num_classes, numbers.Integral) or num_classes < 1):
        raise ValueError(f"Invalid num_classes: expected a positive int or None, received "
                         f"{num_classes!r}")
    n = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.min() < 0 or labels.max() >= n:
        raise ValueError(f"Invalid x: class labels must lie in [0, {n}) for num_classes={n}, "
                         f"received values in [{labels.min()}, {labels.max()}]")
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    what = "num_classes" if num_classes is not None else f"x: its largest label asks for {n} classes"
    check_allocation((*labels.shape, n), torch.float32, f"{what} (one-hot table)")
    onehot = np.zeros((*labels.shape, n), dtype=np.float32)
    np.put_along_axis(onehot, labels[..., None], 1.0, axis=-1)
    return torch.from_numpy(onehot).to(x.device, config.floatx_dtype()) if is_tensor else onehot


__all__ = ["PyDataset", "clear_session", "explain", "normalize", "pad_sequences", "plot_history",
           "plot_model", "set_random_seed", "split_dataset", "to_categorical"]
