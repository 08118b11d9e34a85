"""Per-sample metric functions and the mean metrics built on them.

Each function takes `(y_true, y_pred)` tensors with a batch axis first and returns one value per
sample, shape (N,): elementwise values are averaged over every axis but the batch axis. Rank-1
inputs of shape (N,) are one value per sample (Keras would average them into one batch value).
The classes are their running means over all samples seen (weighted when a weight is given); their
state is Mean's `total` and `count` (sums).

Fast path: every function is `per_sample(elementwise(y_true, y_pred))`. Without weights the
running total only needs sum_i per_sample_i = sum(elementwise) / k (k elements per sample), so the
classes add `elementwise(...).sum()` with `alpha=1/k`: one reduction and one add per batch. The
public functions are the readable twins, and a test checks the two agree.
"""

import torch

from .base import MeanMetricWrapper, accumulator_dtype, align, per_sample, to_tensor
from .positions import per_position


def _as_float(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return x if x.dtype == dtype else x.to(dtype)


# ---- elementwise values: (N, ...) bool matches or float errors --------------------------------

def _binary_matches(y_true, y_pred, threshold=0.5):
    y_true, y_pred = align(y_true, y_pred)
    return torch.eq(y_true, y_pred > threshold)


def _categorical_matches(y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Invalid y_true: categorical_accuracy expects one-hot labels of the "
                         f"shape of y_pred {tuple(y_pred.shape)}, received {tuple(y_true.shape)}")
    if y_true.dtype == torch.bool:
        y_true = y_true.to(torch.uint8)
    return torch.eq(y_true.argmax(-1), y_pred.argmax(-1))


def _sparse_matches(y_true, y_pred):
    if y_true.dim() == y_pred.dim() and y_true.dim() > 0 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_pred.dim() == 0 or y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"Invalid y_true: sparse_categorical_accuracy expects class indices of "
                         f"shape {tuple(y_pred.shape[:-1])} (or with a trailing axis of 1) for "
                         f"y_pred of shape {tuple(y_pred.shape)}, received {tuple(y_true.shape)}")
    return torch.eq(y_true, y_pred.argmax(-1))


def _squared_errors(y_true, y_pred):
    y_true, y_pred = align(y_true, y_pred)
    dtype = accumulator_dtype(y_pred)
    diff = _as_float(y_true, dtype) - _as_float(y_pred, dtype)
    return diff * diff


def _absolute_errors(y_true, y_pred):
    y_true, y_pred = align(y_true, y_pred)
    dtype = accumulator_dtype(y_pred)
    return (_as_float(y_true, dtype) - _as_float(y_pred, dtype)).abs()


def _per_sample(values: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return per_sample(_as_float(values, accumulator_dtype(y_pred)))


# ---- per-sample functions (the readable definitions) -----------------------------------------

def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> torch.Tensor:
    """acc_i = mean_j [ 1(y_pred_ij > threshold) == y_true_ij ], labels in {0, 1}. Shapes (N, ...)
    -> (N,); (N,) and (N, 1) are interchangeable."""
    return _per_sample(_binary_matches(y_true, y_pred, threshold), y_pred)


def categorical_accuracy(y_true, y_pred) -> torch.Tensor:
    """acc_i = 1(argmax_c y_true_ic == argmax_c y_pred_ic), one-hot (or soft) y_true of y_pred's
    shape (N, ..., C) -> (N,). Ties go to the first maximal class."""
    return _per_sample(_categorical_matches(y_true, y_pred), y_pred)


def sparse_categorical_accuracy(y_true, y_pred) -> torch.Tensor:
    """acc_i = 1(y_true_i == argmax_c y_pred_ic), integer (or integer-valued float) class labels of
    shape (N, ...) or (N, ..., 1) against y_pred of shape (N, ..., C) -> (N,)."""
    return _per_sample(_sparse_matches(y_true, y_pred), y_pred)


def mean_squared_error(y_true, y_pred) -> torch.Tensor:
    """mse_i = mean_j (y_true_ij - y_pred_ij)^2, shapes (N, ...) -> (N,)."""
    return per_sample(_squared_errors(y_true, y_pred))


def mean_absolute_error(y_true, y_pred) -> torch.Tensor:
    """mae_i = mean_j |y_true_ij - y_pred_ij|, shapes (N, ...) -> (N,)."""
    return per_sample(_absolute_errors(y_true, y_pred))


mse = mean_squared_error
mae = mean_absolute_error


# ---- running means ---------------------------------------------------------------------------

class _ElementwiseMean(MeanMetricWrapper):
    """A MeanMetricWrapper whose function is per_sample(elementwise(...)), with the fast path."""

    _elementwise = None  # set by subclasses: the elementwise function behind self._fn

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        total = self.total.value
        if per_position(sample_weight):  # one weight per position (a Keras mask)
            y_pred = to_tensor(y_pred)
            values = type(self)._elementwise(to_tensor(y_true, y_pred.device), y_pred,
                                             **self._fn_kwargs)
            return self._accumulate(values, sample_weight)
        if (sample_weight is not None or self._fresh or not isinstance(y_pred, torch.Tensor)
                or y_pred.device != total.device):
            return super().update_state(y_true, y_pred, sample_weight)
        values = type(self)._elementwise(to_tensor(y_true, total.device), y_pred,
                                         **self._fn_kwargs)
        n = values.shape[0] if values.dim() > 0 else 1
        if values.numel() == 0:
            return
        total.add_(values.sum(), alpha=n / values.numel())
        self.count.value.add_(n)


class BinaryAccuracy(_ElementwiseMean):
    """Fraction of predictions on the right side of `threshold`: mean_i binary_accuracy_i."""

    _elementwise = _binary_matches

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        if not isinstance(threshold, int | float) or isinstance(threshold, bool):
            raise ValueError(f"Invalid threshold: expected a float, received {threshold!r}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=float(threshold))


class CategoricalAccuracy(_ElementwiseMean):
    """Fraction of samples whose predicted class (argmax) is the one-hot label's: mean_i acc_i."""

    _elementwise = _categorical_matches

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_ElementwiseMean):
    """Fraction of samples whose predicted class (argmax) equals the integer label."""

    _elementwise = _sparse_matches

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class MeanSquaredError(_ElementwiseMean):
    """mean_i mse_i with mse_i = mean_j (y_true_ij - y_pred_ij)^2."""

    _elementwise = _squared_errors

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_ElementwiseMean):
    """mean_i mae_i with mae_i = mean_j |y_true_ij - y_pred_ij|."""

    _elementwise = _absolute_errors

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(MeanSquaredError):
    """sqrt(mean_i mse_i): the square root of the running (weighted) mean squared error (Keras 3's
    definition: the root is taken after averaging). State: `total`, `count` (sums)."""

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        return super().result().sqrt()
