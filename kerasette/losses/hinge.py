"""Hinge losses (Keras 3.16 `keras/src/losses/losses.py`): Hinge, SquaredHinge, CategoricalHinge.

Targets for Hinge and SquaredHinge are -1 / +1. As Keras, when *every* target of the batch is 0 or
1 they are read as binary labels and mapped to 2 y - 1; the test is one tensor op (a `where` on a
0-d flag), so it never waits for the device. c is the reduction's scale times the sample weights.
"""

import torch

from .base import Loss, same_shape_targets
from .regression import _PerOutputLoss


def _signed_labels(y: torch.Tensor) -> torch.Tensor:
    """y, or 2 y - 1 when every entry of y is 0 or 1 (Keras's `convert_binary_labels_to_hinge`)."""
    is_binary = ((y == 0) | (y == 1)).all()
    return torch.where(is_binary, 2.0 * y - 1.0, y)


class Hinge(_PerOutputLoss):
    """Hinge loss: m = 1 - y y_pred, term = max(m, 0), gradient -y 1(m > 0) c.

    y_true, y_pred: (N, ..., k) or (N,); y_true in {-1, 1} (or {0, 1}, converted); value 0-d;
    backward() -> y_pred's shape. At the kink m = 0 the gradient is 0 (autograd's choice too).
    """

    default_name = "hinge"

    def _check(self, y_true, y_pred):
        return _signed_labels(same_shape_targets(self, y_true, y_pred))

    def _terms(self, y, y_pred):
        margin = 1.0 - y * y_pred

        def grad(c):
            return (margin > 0).to(y_pred.dtype).mul_(y).neg_().mul_(c)

        return margin.clamp(min=0), grad


class SquaredHinge(_PerOutputLoss):
    """Squared hinge: m = 1 - y y_pred, term = max(m, 0)^2, gradient -2 y max(m, 0) c.

    y_true, y_pred: (N, ..., k) or (N,); y_true in {-1, 1} (or {0, 1}, converted).
    """

    default_name = "squared_hinge"

    def _check(self, y_true, y_pred):
        return _signed_labels(same_shape_targets(self, y_true, y_pred))

    def _terms(self, y, y_pred):
        hinge = (1.0 - y * y_pred).clamp_(min=0)

        def grad(c):
            return (hinge * y).mul_(-2.0).mul_(c)

        return hinge.square(), grad


class CategoricalHinge(Loss):
    """Categorical hinge over the last (class) axis, one term per sample:

        pos = sum_j y_j p_j,   neg = max_j (1 - y_j) p_j,   term = max(neg - pos + 1, 0)
        gradient = 1(term > 0) ((1 - y) e_a - y) c,  a = argmax_j (1 - y_j) p_j (first on ties)

    y_true: one-hot (or {-1, 1}) of y_pred's shape (N, ..., C); value 0-d; backward() -> (N, ..., C).
    Kinks: term = 0, and ties in the max.
    """

    default_name = "categorical_hinge"

    def __init__(self, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction=reduction, name=name)

    def _axis(self, y_pred):
        if y_pred.dim() < 2:
            raise ValueError(f"Loss '{self.name}': expected y_pred of shape (batch, ..., classes), "
                             f"received shape {tuple(y_pred.shape)}")
        return y_pred.dim() - 1

    def _check(self, y_true, y_pred):
        self._axis(y_pred)
        return same_shape_targets(self, y_true, y_pred)

    def _terms(self, y, y_pred):
        pos = (y * y_pred).sum(-1, keepdim=True)
        others = (1.0 - y) * y_pred
        neg, arg = others.max(-1, keepdim=True)
        terms = (neg - pos + 1.0).clamp_(min=0)

        def grad(c):
            active = (terms > 0).to(y_pred.dtype)
            dneg = torch.zeros_like(y_pred).scatter_(-1, arg, 1.0).mul_(1.0 - y)
            return dneg.sub_(y).mul_(active).mul_(c)

        return terms, grad
