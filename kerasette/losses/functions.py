"""The functional forms of the losses (Keras 3.16 names and arguments): `f(y_true, y_pred, ...)`
returns the per-sample losses, y_pred's shape without the reduced axis ((N,) for (N, k)), as
Keras's functions do; a 1-D y_pred of shape (N,) has one output per sample, as everywhere in
kerasette (Keras would average it into one number).

    ks.losses.categorical_crossentropy(y_true, y_pred)        # tensor of shape (N,)
    model.compile(loss=ks.losses.categorical_crossentropy)    # trains with the Loss class

Each function is its Loss class with `reduction=None`. `compile(loss=f)` (through `losses.get`)
maps a function to an instance of its class, so training uses the hand-written gradient and the
fused sigmoid / softmax path; `LOSS_OF_FUNCTION` is that map.
"""

from .binary import BinaryCrossentropy
from .categorical import CategoricalCrossentropy, SparseCategoricalCrossentropy
from .focal import BinaryFocalCrossentropy, CategoricalFocalCrossentropy
from .hinge import CategoricalHinge, Hinge, SquaredHinge
from .regression import Huber, MeanAbsoluteError, MeanSquaredError
from .regression_more import (
    LogCosh,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
)
from .similarity import CosineSimilarity, KLDivergence


def _only(name, value, allowed):
    if value != allowed:
        raise ValueError(f"Invalid {name}: kerasette supports only {name}={allowed!r} here, "
                         f"received {value!r}")


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2, axis=-1), one value per sample."""
    return MeanSquaredError(reduction=None)(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|, axis=-1), one value per sample."""
    return MeanAbsoluteError(reduction=None)(y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)."""
    return MeanAbsolutePercentageError(reduction=None)(y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, axis=-1)."""
    return MeanSquaredLogarithmicError(reduction=None)(y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """mean(Huber terms, axis=-1): d^2 / 2 for |d| <= delta, else delta |d| - delta^2 / 2."""
    return Huber(delta=delta, reduction=None)(y_true, y_pred)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1)."""
    return LogCosh(reduction=None)(y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)."""
    return CosineSimilarity(axis=axis, reduction=None)(y_true, y_pred)


def hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0), axis=-1); {0, 1} labels are mapped to {-1, 1}."""
    return Hinge(reduction=None)(y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0)^2, axis=-1); {0, 1} labels are mapped to {-1, 1}."""
    return SquaredHinge(reduction=None)(y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) y_pred) - sum(y_true y_pred) + 1, 0) over the last axis."""
    return CategoricalHinge(reduction=None)(y_true, y_pred)


def kl_divergence(y_true, y_pred):
    """sum(t log(t / p), axis=-1) with t, p clipped to [eps, 1]."""
    return KLDivergence(reduction=None)(y_true, y_pred)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true log(y_pred + eps), axis=-1)."""
    return Poisson(reduction=None)(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(binary cross-entropy, axis=-1) (only axis=-1 here)."""
    _only("axis", axis, -1)
    loss = BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                              reduction=None)
    return loss(y_true, y_pred)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(focal binary cross-entropy, axis) (see `BinaryFocalCrossentropy`)."""
    loss = BinaryFocalCrossentropy(apply_class_balancing, alpha, gamma, from_logits,
                                   label_smoothing, axis, reduction=None)
    return loss(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true log softmax-or-normalised y_pred, axis), one value per sample."""
    loss = CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                                   axis=axis, reduction=None)
    return loss(y_true, y_pred)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """sum(alpha (1 - r)^gamma (-y_true log r), axis) (see `CategoricalFocalCrossentropy`)."""
    loss = CategoricalFocalCrossentropy(alpha, gamma, from_logits, label_smoothing, axis,
                                        reduction=None)
    return loss(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """-log p[y_true] per sample, integer labels (only ignore_class=None and axis=-1 here)."""
    _only("ignore_class", ignore_class, None)
    _only("axis", axis, -1)
    loss = SparseCategoricalCrossentropy(from_logits=from_logits, reduction=None)
    return loss(y_true, y_pred)


# Keras 2 spellings that copied code still uses (Keras 3 keeps them as string ids).
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh

LOSS_OF_FUNCTION = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, huber: Huber,
    log_cosh: LogCosh, cosine_similarity: CosineSimilarity, hinge: Hinge,
    squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge, kl_divergence: KLDivergence,
    poisson: Poisson, binary_crossentropy: BinaryCrossentropy,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}

FUNCTION_NAMES = [f.__name__ for f in LOSS_OF_FUNCTION] + [
    "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD",
    "kullback_leibler_divergence", "logcosh"]
