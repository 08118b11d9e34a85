"""Streaming metrics kept on the device (no gradients).

    m = ks.metrics.get("accuracy", y_true, y_pred)     # or BinaryAccuracy(), "mse", a function...
    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=None)  # a few tensor ops, never a device sync
    m.result().item()

Without weights a metric is the plain mean over samples; with `sample_weight` it is the weighted
mean sum_i w_i v_i / sum_i w_i (Keras's `weighted_metrics`).
"""

from ..losses.functions import (
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    hinge,
    kl_divergence,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from .base import Mean, MeanMetricWrapper, Metric, Sum
from .confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from .f_score import F1Score, FBetaScore
from .functions import (
    BinaryAccuracy,
    CategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    SparseCategoricalAccuracy,
    binary_accuracy,
    categorical_accuracy,
    mae,
    mean_absolute_error,
    mean_squared_error,
    mse,
    sparse_categorical_accuracy,
)
from .loss_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from .r2 import R2Score
from .registry import accuracy_kind, deserialize, get, serialize, valid_ids
from .top_k import (
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from .variable import MetricVariable

__all__ = [
    "AUC", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
    "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity", "F1Score", "FBetaScore",
    "FalseNegatives", "FalsePositives", "Hinge", "KLDivergence", "LogCoshError", "Mean",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanMetricWrapper", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Metric", "MetricVariable", "Poisson", "Precision", "R2Score",
    "Recall", "RootMeanSquaredError", "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy", "SquaredHinge", "Sum",
    "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "accuracy_kind",
    "binary_accuracy", "binary_crossentropy", "categorical_accuracy", "categorical_crossentropy",
    "categorical_hinge", "deserialize", "get", "hinge", "kl_divergence", "log_cosh", "mae",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "mse", "poisson", "serialize",
    "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
    "valid_ids",
]
