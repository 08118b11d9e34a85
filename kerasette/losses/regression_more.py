"""More per-output regression losses (Keras 3.16 `keras/src/losses/losses.py`): LogCosh,
MeanAbsolutePercentageError, MeanSquaredLogarithmicError, and Poisson.

Like MSE, each averages its per-output terms over the last axis (one loss per sample); y_true has
y_pred's shape ((N,) and (N, 1) interchangeable). Below d = y_pred - y_true, eps =
config.epsilon() (read at each call, as Keras's backend.epsilon()) and c is the reduction's scale
times the sample weights (see `base`).
"""

import math

from .. import config
from .regression import _PerOutputLoss

_LOG2 = math.log(2.0)


class LogCosh(_PerOutputLoss):
    """log(cosh(d)), computed without overflow as d + softplus(-2 d) - log 2 (Keras's form);
    gradient tanh(d) c. Smooth everywhere: ~ d^2 / 2 near 0, ~ |d| - log 2 far away."""

    default_name = "log_cosh"

    def _terms(self, y_true, y_pred):
        diff = y_pred - y_true
        z = -2.0 * diff
        softplus = z.clamp(min=0) + z.abs().neg_().exp_().log1p_()  # stable log(1 + e^z)

        def grad(c):
            return diff.tanh().mul_(c)

        return diff + softplus - _LOG2, grad


class MeanAbsolutePercentageError(_PerOutputLoss):
    """term = 100 |d| / max(|y_true|, eps), gradient 100 sign(d) / max(|y_true|, eps) c
    (0 at d = 0, as autograd)."""

    default_name = "mean_absolute_percentage_error"

    def _terms(self, y_true, y_pred):
        diff = y_pred - y_true
        scale = 100.0 / y_true.abs().clamp(min=config.epsilon())

        def grad(c):
            return diff.sign().mul_(scale).mul_(c)

        return diff.abs() * scale, grad


class MeanSquaredLogarithmicError(_PerOutputLoss):
    """a = log(max(y_pred, eps) + 1), b = log(max(y_true, eps) + 1), term = (a - b)^2;
    gradient 2 (a - b) / (y_pred + 1) c where y_pred > eps, 0 where the max clipped it."""

    default_name = "mean_squared_logarithmic_error"

    def _terms(self, y_true, y_pred):
        eps = config.epsilon()
        shifted = y_pred.clamp(min=eps) + 1.0
        diff = shifted.log() - (y_true.clamp(min=eps) + 1.0).log_()

        def grad(c):
            return (diff * 2.0).div_(shifted).mul_(y_pred > eps).mul_(c)

        return diff.square(), grad


class Poisson(_PerOutputLoss):
    """term = y_pred - y_true log(y_pred + eps), gradient (1 - y_true / (y_pred + eps)) c.
    y_pred should be a positive rate (e.g. after exp or softplus)."""

    default_name = "poisson"

    def _terms(self, y_true, y_pred):
        shifted = y_pred + config.epsilon()

        def grad(c):
            return (y_true / shifted).neg_().add_(1.0).mul_(c)

        return y_pred - y_true * shifted.log(), grad
