"""Top-k accuracies (Keras 3.16 `keras/src/metrics/accuracy_metrics.py`): a sample counts as right
when its true class is among the k highest predictions. As Keras's `in_top_k`, ties favour the
label: the true class is "in the top k" when its score is >= the k-th largest score. k larger
than the number of classes counts every sample as right.
"""

import torch

from .base import to_tensor
from .functions import _ElementwiseMean, _per_sample


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"Invalid k: expected an int >= 1, received {k!r}")
    return k


def _in_top_k(target: torch.Tensor, y_pred: torch.Tensor, k: int) -> torch.Tensor:
    """(N, ...) int64 targets, (N, ..., C) scores -> (N, ...) bool."""
    k = min(k, y_pred.shape[-1])
    kth = y_pred.topk(k, dim=-1, sorted=False).values.amin(-1)
    return y_pred.gather(-1, target.unsqueeze(-1)).squeeze(-1) >= kth


def _top_k_matches(y_true, y_pred, k=5):
    if y_true.shape != y_pred.shape or y_pred.dim() < 2:
        raise ValueError(f"Invalid y_true: top_k_categorical_accuracy expects one-hot labels of "
                         f"the shape of y_pred {tuple(y_pred.shape)} (batch, ..., classes), "
                         f"received {tuple(y_true.shape)}")
    if y_true.dtype == torch.bool:
        y_true = y_true.to(torch.uint8)
    return _in_top_k(y_true.argmax(-1), y_pred, k)


def _sparse_top_k_matches(y_true, y_pred, k=5, from_sorted_ids=False):
    if y_true.dim() == y_pred.dim() and y_true.dim() > 0 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_pred.dim() < 2 or y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"Invalid y_true: sparse_top_k_categorical_accuracy expects class "
                         f"indices of shape {tuple(y_pred.shape[:-1])} (or with a trailing axis "
                         f"of 1) for y_pred of shape {tuple(y_pred.shape)}, received "
                         f"{tuple(y_true.shape)}")
    if from_sorted_ids:  # y_pred already holds class ids, best first
        return (y_pred[..., :k] == y_true.unsqueeze(-1).to(y_pred.dtype)).any(-1)
    return _in_top_k(y_true.long(), y_pred, k)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> torch.Tensor:
    """acc_i = 1(argmax_c y_true_ic is among the k largest y_pred_i), one-hot y_true of y_pred's
    shape (N, ..., C) -> (N,)."""
    y_pred = to_tensor(y_pred)
    return _per_sample(_top_k_matches(to_tensor(y_true, y_pred.device), y_pred, k), y_pred)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5,
                                      from_sorted_ids: bool = False) -> torch.Tensor:
    """acc_i = 1(y_true_i is among the k largest y_pred_i), integer labels of shape (N, ...) or
    (N, ..., 1) -> (N,). With from_sorted_ids=True, y_pred holds class ids sorted best first."""
    y_pred = to_tensor(y_pred)
    return _per_sample(_sparse_top_k_matches(to_tensor(y_true, y_pred.device), y_pred, k,
                                             from_sorted_ids), y_pred)


class TopKCategoricalAccuracy(_ElementwiseMean):
    """Fraction of samples whose one-hot label's class is in the top k predictions (k=5)."""

    _elementwise = _top_k_matches

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        self.k = _check_k(k)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=self.k)


class SparseTopKCategoricalAccuracy(_ElementwiseMean):
    """Fraction of samples whose integer label is in the top k predictions (k=5)."""

    _elementwise = _sparse_top_k_matches

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids: bool = False):
        self.k = _check_k(k)
        if not isinstance(from_sorted_ids, bool):
            raise TypeError(f"Invalid from_sorted_ids: expected True or False, received "
                            f"{from_sorted_ids!r}")
        self.from_sorted_ids = from_sorted_ids
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=self.k,
                         from_sorted_ids=from_sorted_ids)
