"""Streaming metrics kept on the device (no gradients).

    m = ks.metrics.get("accuracy", y_true, y_pred)     # or BinaryAccuracy(), "mse", a function...
    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=None)  # a few tensor ops, never a device sync
    m.result().item()

Without weights a metric is the plain mean over samples; with `sample_weight` it is the weighted
mean sum_i w_i v_i / sum_i w_i (Keras's `weighted_metrics`).
"""

from .base import Mean, MeanMetricWrapper, Metric
from .confusion import AUC, Precision, Recall
from .functions import (
    BinaryAccuracy,
    CategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalAccuracy,
    binary_accuracy,
    categorical_accuracy,
    mae,
    mean_absolute_error,
    mean_squared_error,
    mse,
    sparse_categorical_accuracy,
)
from .registry import accuracy_kind, deserialize, get, serialize, valid_ids

__all__ = [
    "AUC", "BinaryAccuracy", "CategoricalAccuracy", "Mean", "MeanAbsoluteError",
    "MeanMetricWrapper", "MeanSquaredError", "Metric", "Precision", "Recall",
    "SparseCategoricalAccuracy", "accuracy_kind", "binary_accuracy", "categorical_accuracy",
    "deserialize", "get", "mae", "mean_absolute_error", "mean_squared_error", "mse", "serialize",
    "sparse_categorical_accuracy", "valid_ids",
]
