"""Metrics that are the running (weighted) mean of a loss's per-sample values (Keras 3.16
`keras/src/metrics/{regression,probabilistic,hinge}_metrics.py`): MeanAbsolutePercentageError,
MeanSquaredLogarithmicError, LogCoshError, CosineSimilarity (+cosine, higher is better),
BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson,
Hinge, SquaredHinge, CategoricalHinge.

Each is a MeanMetricWrapper around the function of `kerasette.losses` with the same name, so the
formulas (clips and epsilons included) have one owner. State: Mean's `total` and `count` (sums).
"""

from .. import losses as L
from .base import MeanMetricWrapper


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): 1 for the same direction."""
    return -L.cosine_similarity(y_true, y_pred, axis=axis)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean of 100 mean_j |y_true - y_pred| / max(|y_true|, eps)."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(L.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean of mean_j (log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(L.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """Mean of mean_j log(cosh(y_pred - y_true)) (Keras names it "logcosh")."""

    def __init__(self, name: str = "logcosh", dtype=None):
        super().__init__(L.log_cosh, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between y_true and y_pred along `axis` (in [-1, 1])."""

    def __init__(self, name: str = "cosine_similarity", dtype=None, axis: int = -1):
        L.CosineSimilarity(axis=axis)  # checks axis
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary cross-entropy (as the loss of the same name)."""

    def __init__(self, name: str = "binary_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        L.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)  # checks
        super().__init__(L.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical cross-entropy of one-hot (or soft) labels."""

    def __init__(self, name: str = "categorical_crossentropy", dtype=None,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1):
        L.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                                  axis=axis)
        super().__init__(L.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean cross-entropy of integer class labels (ignore_class=None and axis=-1 only)."""

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype=None,
                 from_logits: bool = False, ignore_class=None, axis: int = -1):
        L.SparseCategoricalCrossentropy(from_logits=from_logits)
        for arg, value, allowed in (("ignore_class", ignore_class, None), ("axis", axis, -1)):
            if value != allowed:
                raise ValueError(f"Invalid {arg}: kerasette supports only {arg}={allowed!r}, "
                                 f"received {value!r}")
        super().__init__(L.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


class KLDivergence(MeanMetricWrapper):
    """Mean Kullback-Leibler divergence sum_j t_j log(t_j / p_j), t, p clipped to [eps, 1]."""

    def __init__(self, name: str = "kl_divergence", dtype=None):
        super().__init__(L.kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Mean of mean_j (y_pred - y_true log(y_pred + eps))."""

    def __init__(self, name: str = "poisson", dtype=None):
        super().__init__(L.poisson, name=name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """Mean hinge loss ({0, 1} labels mapped to {-1, 1})."""

    def __init__(self, name: str = "hinge", dtype=None):
        super().__init__(L.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Mean squared hinge loss ({0, 1} labels mapped to {-1, 1})."""

    def __init__(self, name: str = "squared_hinge", dtype=None):
        super().__init__(L.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Mean categorical hinge loss of one-hot labels."""

    def __init__(self, name: str = "categorical_hinge", dtype=None):
        super().__init__(L.categorical_hinge, name=name, dtype=dtype)
