"""Regression losses: mean squared error, mean absolute error, Huber.

Each averages its per-output terms over the last axis to get one loss per sample (Keras's
`mean(..., axis=-1)`); a 1-D y_pred of shape (N,) has one output per sample. y_true has y_pred's
shape ((N,) and (N, 1) are interchangeable) and any dtype; it is cast to y_pred's.
Below d = y_pred - y_true and c is the reduction's scale times the sample weights (see `base`).
"""

from .base import Loss, same_shape_targets


class _PerOutputLoss(Loss):
    """A loss whose terms are per output, averaged over the last axis."""

    def __init__(self, reduction="sum_over_batch_size", name=None):  # Keras's argument order
        super().__init__(reduction=reduction, name=name)

    def _check(self, y_true, y_pred):
        return same_shape_targets(self, y_true, y_pred)

    def _axis(self, y_pred):
        return y_pred.dim() - 1 if y_pred.dim() > 1 else None


class MeanSquaredError(_PerOutputLoss):
    """Mean squared error: term d^2, gradient 2 d c.

    y_true, y_pred: (N, ..., k) or (N,); value 0-d; backward() -> (N, ..., k) or (N,).
    Unweighted default reduction: L = mean(d^2), dL/dy_pred = 2 d / d.numel().
    """

    default_name = "mean_squared_error"

    def _terms(self, y_true, y_pred):
        diff = y_pred - y_true

        def grad(c):
            return diff * (2 * c)

        return diff.square(), grad


class MeanAbsoluteError(_PerOutputLoss):
    """Mean absolute error: term |d|, gradient sign(d) c (0 at d = 0, as torch's autograd).

    y_true, y_pred: (N, ..., k) or (N,); value 0-d; backward() -> y_pred's shape.
    """

    default_name = "mean_absolute_error"

    def _terms(self, y_true, y_pred):
        diff = y_pred - y_true

        def grad(c):
            return diff.sign() * c

        return diff.abs(), grad


class Huber(_PerOutputLoss):
    """Huber loss (as Keras and PyTorch's functional `huber_loss`):

        term = d^2 / 2                    if |d| <= delta
               delta |d| - delta^2 / 2    otherwise
        gradient = clamp(d, -delta, delta) c

    Written with e = clamp(d, -delta, delta): term = |e| (|d| - |e| / 2), which is both branches.
    y_true, y_pred: (N, ..., k) or (N,); value 0-d; backward() -> y_pred's shape.
    """

    default_name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction="sum_over_batch_size", name=None):
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
            raise ValueError(f"Invalid delta: expected a float > 0, received {delta!r}")
        super().__init__(reduction=reduction, name=name)
        self.delta = float(delta)

    def _terms(self, y_true, y_pred):
        diff = y_pred - y_true
        clipped = diff.clamp(-self.delta, self.delta)
        abs_clipped = clipped.abs()

        def grad(c):
            return clipped * c

        return abs_clipped * (diff.abs() - 0.5 * abs_clipped), grad

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}
