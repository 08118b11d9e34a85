"""Focal cross-entropies (Lin et al. 2017), as Keras 3.16 `keras/src/losses/losses.py` computes them:
BinaryFocalCrossentropy and CategoricalFocalCrossentropy.

A focal factor (1 - p_t)^gamma down-weights examples the model already gets right; gamma = 0 gives
back the plain cross-entropy (times alpha for the categorical one). With `from_logits=True` Keras
first applies the sigmoid / softmax and then runs the same probability math, clipping included;
so does this code (the gradient then goes through the activation by the chain rule). c is the
reduction's scale times the sample weights (see `base`); eps = config.epsilon().
"""

import torch

from .. import config
from .base import (
    Loss,
    check_axis,
    check_flag,
    check_label_smoothing,
    non_batch_axis,
    same_shape_targets,
)


def _check_nonnegative(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"Invalid {name}: expected a float >= 0, received {value!r}")
    return float(value)


def _focal_power(base, gamma):
    """(base^gamma, d base^gamma / d base); the derivative is 0 for gamma = 0 (not 0 * inf)."""
    if gamma == 0:
        return torch.ones_like(base), torch.zeros_like(base)
    return base.pow(gamma), base.pow(gamma - 1.0).mul_(gamma)


class BinaryFocalCrossentropy(Loss):
    """Binary focal cross-entropy, averaged over `axis` (one loss per sample, as Keras).

    y <- y (1 - label_smoothing) + label_smoothing / 2; s = sigmoid(y_pred) if from_logits else
    y_pred; sc = clip(s, eps, 1 - eps):
        bce = -(y log sc + (1 - y) log(1 - sc)),    p_t = y s + (1 - y)(1 - s)
        term = a (1 - p_t)^gamma bce,   a = alpha y + (1 - alpha)(1 - y) if apply_class_balancing
                                          else 1
        dterm/ds = a [gamma (1 - p_t)^(gamma - 1) (1 - 2 y) bce
                      + (1 - p_t)^gamma (sc - y) / (sc (1 - sc)) 1(s was not clipped)]
        gradient = dterm/ds c, times s (1 - s) when from_logits.
    y_true, y_pred: (N, ..., k) or (N,); value 0-d; backward() -> y_pred's shape.
    """

    default_name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction="sum_over_batch_size", name=None):
        self.apply_class_balancing = check_flag("apply_class_balancing", apply_class_balancing)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise ValueError(f"Invalid alpha: expected a float, received {alpha!r}")
        self.alpha = float(alpha)
        self.gamma = _check_nonnegative("gamma", gamma)
        self.from_logits = check_flag("from_logits", from_logits)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.axis = check_axis(axis)
        super().__init__(reduction=reduction, name=name)

    def _axis(self, y_pred):
        return non_batch_axis(self, y_pred) if y_pred.dim() > 1 else None

    def _check(self, y_true, y_pred):
        self._axis(y_pred)
        y_true = same_shape_targets(self, y_true, y_pred)
        ls = self.label_smoothing
        return y_true * (1.0 - ls) + 0.5 * ls if ls else y_true

    def _terms(self, y, y_pred):
        s = y_pred.sigmoid() if self.from_logits else y_pred
        eps = config.epsilon()
        sc = s.clamp(eps, 1.0 - eps)
        log_1msc = (-sc).log1p()
        bce = -(y * (sc.log() - log_1msc) + log_1msc)
        miss = y * (1.0 - s) + (1.0 - y) * s  # 1 - p_t
        focal, dfocal = _focal_power(miss, self.gamma)
        weight = None
        if self.apply_class_balancing:
            weight = y * self.alpha + (1.0 - y) * (1.0 - self.alpha)
        terms = focal * bce if weight is None else weight * focal * bce

        def grad(c):
            dbce = ((sc - y) / (sc * (1.0 - sc))).mul_(sc == s)
            ds = (dfocal * (1.0 - 2.0 * y)).mul_(bce).add_(focal * dbce)
            if weight is not None:
                ds.mul_(weight)
            if self.from_logits:
                ds.mul_(s * (1.0 - s))
            return ds.mul_(c)

        return terms, grad

    def get_config(self):
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing,
                "alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalFocalCrossentropy(Loss):
    """Categorical focal cross-entropy over the class `axis`, one term per sample.

    y <- y (1 - label_smoothing) + label_smoothing / C; p = softmax(y_pred) if from_logits else
    y_pred; q = p / sum(p); r = clip(q, eps, 1 - eps):
        term = sum_j alpha_j (1 - r_j)^gamma (-y_j log r_j)
        g_j = dterm/dq_j = alpha_j y_j [gamma (1 - r_j)^(gamma - 1) log r_j - (1 - r_j)^gamma / r_j]
              where q_j was not clipped, else 0
        dterm/dp = (g - sum_j g_j q_j) / sum(p),   and when from_logits
        dterm/dz = p (dterm/dp - sum_j p_j dterm/dp_j);   gradient = that times c.
    `alpha` is a float or one float per class (Keras: "a list of floats or a scalar").
    y_true, y_pred: (N, ..., C); value 0-d; backward() -> y_pred's shape.
    """

    default_name = "categorical_focal_crossentropy"

    def __init__(self, alpha=0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name=None):
        if isinstance(alpha, (list, tuple)):
            if not alpha or any(isinstance(a, bool) or not isinstance(a, (int, float))
                                for a in alpha):
                raise ValueError(f"Invalid alpha: expected a float or a non-empty list of floats "
                                 f"(one per class), received {alpha!r}")
            alpha = [float(a) for a in alpha]
        elif isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise ValueError(f"Invalid alpha: expected a float or a list of floats (one per "
                             f"class), received {alpha!r}")
        else:
            alpha = float(alpha)
        self.alpha = alpha
        self.gamma = _check_nonnegative("gamma", gamma)
        self.from_logits = check_flag("from_logits", from_logits)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.axis = check_axis(axis)
        super().__init__(reduction=reduction, name=name)

    def _axis(self, y_pred):
        return non_batch_axis(self, y_pred)

    def _check(self, y_true, y_pred):
        axis = self._axis(y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"Loss '{self.name}': y_true and y_pred have incompatible shapes: "
                             f"expected one-hot y_true of shape {tuple(y_pred.shape)}, received "
                             f"{tuple(y_true.shape)}")
        if isinstance(self.alpha, list) and len(self.alpha) != y_pred.shape[axis]:
            raise ValueError(f"Loss '{self.name}': alpha has {len(self.alpha)} entries, expected "
                             f"one per class ({y_pred.shape[axis]})")
        if y_true.dtype != y_pred.dtype:
            y_true = y_true.to(y_pred.dtype)
        ls = self.label_smoothing
        return y_true * (1.0 - ls) + ls / y_pred.shape[axis] if ls else y_true

    def _alpha(self, y_pred, axis):
        if not isinstance(self.alpha, list):
            return self.alpha
        shape = (-1,) + (1,) * (y_pred.dim() - 1 - axis)
        return torch.tensor(self.alpha, dtype=y_pred.dtype, device=y_pred.device).reshape(shape)

    def _terms(self, y, y_pred):
        axis = self._axis(y_pred)
        p = y_pred.softmax(axis) if self.from_logits else y_pred
        p_sum = p.sum(axis, keepdim=True)
        q = p / p_sum
        eps = config.epsilon()
        r = q.clamp(eps, 1.0 - eps)
        log_r = r.log()
        focal, dfocal = _focal_power(1.0 - r, self.gamma)
        alpha_y = y * self._alpha(y_pred, axis)
        terms = -(alpha_y * focal * log_r).sum(axis, keepdim=True)

        def grad(c):
            g = (dfocal * log_r).sub_(focal / r).mul_(alpha_y).mul_(r == q)
            dp = (g - (g * q).sum(axis, keepdim=True)).div_(p_sum)
            if self.from_logits:
                dp = p * (dp - (dp * p).sum(axis, keepdim=True))
            return dp.mul_(c)

        return terms, grad

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma,
                "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}
