"""Categorical cross-entropy (one-hot or soft targets) and its sparse twin (class indices).

Both sum over the class axis: one loss term per sample, kept with keepdim so sample weights
broadcast. c below is the reduction's scale times the sample weights (see `base`).

On logits z (from_logits=True), with log-softmax computed as (z - max) - log(sum(exp(z - max))),
exact for the largest logit and finite for logits of +-1e4:
    loss = -sum_j y_j log_softmax(z)_j,     dL/dz = (softmax(z) sum_j y_j - y) c
(sum_j y_j = 1 for one-hot or smoothed targets, giving the familiar softmax(z) - y).

On probabilities p (from_logits=False), as Keras: q = p / sum(p) over the class axis, then
r = clip(q, eps, 1 - eps) with eps = config.epsilon(), loss = -sum_j y_j log r_j. With
g_j = -y_j / r_j where q_j was not clipped (0 where it was: the derivative of the clip),
    dL/dp_k = (g_k - sum_j g_j q_j) / sum(p) * c
(the chain rule through the renormalisation), exactly what autograd gives for this math.

`fused_with("softmax")` gives the from_logits=True twin: a model then feeds it the logits before
the softmax and the gradient becomes the stable softmax(z) - y. Its value equals the unfused loss
on softmax(z) except where a probability would have been clipped to [eps, 1 - eps]: there the
fused value is exact (and keeps a gradient).
"""

import torch

from .. import config
from ..graph.symbolic import is_symbolic
from .base import Loss, _as_tensors, check_axis, check_flag, check_label_smoothing, non_batch_axis


def _log_softmax_parts(z, axis):
    """shifted = z - max(z), exps = exp(shifted), total = sum(exps): log_softmax is
    shifted - log(total) and softmax is exps / total."""
    shifted = z - z.amax(axis, keepdim=True)
    exps = shifted.exp()
    return shifted, exps, exps.sum(axis, keepdim=True)


class CategoricalCrossentropy(Loss):
    """Cross-entropy with targets y of y_pred's shape (one-hot or soft), classes on `axis`.

    y is first smoothed: y <- y (1 - label_smoothing) + label_smoothing / num_classes.
    y_true, y_pred: (N, ..., C) for axis=-1; value 0-d; backward() -> y_pred's shape.
    Formulas for both `from_logits` settings are in the module docstring.
    """

    default_name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name=None):
        self.from_logits = check_flag("from_logits", from_logits)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.axis = check_axis(axis)
        super().__init__(reduction=reduction, name=name)

    def _axis(self, y_pred):
        return non_batch_axis(self, y_pred, "class axis")

    def _check(self, y_true, y_pred):
        axis = self._axis(y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"Loss '{self.name}': y_true and y_pred have incompatible shapes: "
                             f"expected y_true of shape {tuple(y_pred.shape)} (one-hot or "
                             f"probabilities; use sparse_categorical_crossentropy for class "
                             f"indices), received {tuple(y_true.shape)}")
        if y_true.dtype != y_pred.dtype:
            y_true = y_true.to(y_pred.dtype)
        ls = self.label_smoothing
        return y_true * (1.0 - ls) + ls / y_pred.shape[axis] if ls else y_true

    def _terms(self, y, y_pred):
        axis = self._axis(y_pred)
        if self.from_logits:
            shifted, exps, total = _log_softmax_parts(y_pred, axis)
            terms = -(y * (shifted - total.log())).sum(axis, keepdim=True)

            def grad(c):
                y_sum = y.sum(axis, keepdim=True)
                return (exps * (y_sum / total)).sub_(y).mul_(c)

            return terms, grad

        p_sum = y_pred.sum(axis, keepdim=True)
        q = y_pred / p_sum
        eps = config.epsilon()
        r = q.clamp(eps, 1.0 - eps)
        terms = -(y * r.log()).sum(axis, keepdim=True)

        def grad(c):
            g = (y / r).neg_().mul_(r == q)  # dL/dq: zero where the clip changed q
            return (g - (g * q).sum(axis, keepdim=True)).div_(p_sum).mul_(c)

        return terms, grad

    def fused_with(self, activation):
        if activation == "softmax" and not self.from_logits and self.axis == -1:
            return type(self)(True, self.label_smoothing, self.axis, self.reduction, self.name)
        return None

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class indices as targets (classes on the last axis).

    y_true: class indices of shape (N, ...) or (N, ..., 1), any int or float dtype (cast to int64).
    Their range is checked by a direct call, `loss(y_true, y_pred)` (a ValueError naming y_true,
    not an index error or a device-side assert); `forward`, which fit runs every step, and the
    per-sample form (reduction None, which metrics use every batch without reading values back)
    leave it to fit, which checks the labels once per fit (per batch for a Dataset).
    y_pred: (N, ..., C); value 0-d; backward() -> y_pred's shape.
    With i the target class of a sample (the one-hot case of the module docstring):
        from_logits=True:  loss = log(sum(exp(z))) - z_i,   dL/dz = (softmax(z) - onehot(i)) c
        from_logits=False: q = p / sum(p), r_i = clip(q_i, eps, 1 - eps), loss = -log r_i,
                           dL/dp = a (onehot(i) - q_i) with a = -c / (r_i sum(p)) where q_i was
                           not clipped, 0 where it was.
    """

    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction="sum_over_batch_size", name=None):
        self.from_logits = check_flag("from_logits", from_logits)
        super().__init__(reduction=reduction, name=name)

    def _axis(self, y_pred):
        return y_pred.dim() - 1

    def __call__(self, y_true, y_pred, sample_weight=None):
        if is_symbolic(y_true) or is_symbolic(y_pred):  # a graph node (loss_node.py)
            return super().__call__(y_true, y_pred, sample_weight)
        y_true, y_pred = _as_tensors(y_true, y_pred)
        if self.reduction is not None and self.reduction != "none":
            # reduction None is the per-sample form metrics use every batch on labels fit has
            # checked: it must not read values back to the host, so it is not checked here
            check_class_indices(y_true, y_pred.shape[-1] if y_pred.dim() else None, "y_true")
        return super().__call__(y_true, y_pred, sample_weight)

    def _check(self, y_true, y_pred):
        """Class indices as int64 of shape (N, ..., 1), ready for gather/scatter."""
        if y_pred.dim() < 2:
            raise ValueError(f"Loss '{self.name}': expected y_pred of shape (batch, ..., classes), "
                             f"received shape {tuple(y_pred.shape)}")
        if y_true.shape == y_pred.shape[:-1]:
            y_true = y_true.unsqueeze(-1)
        elif y_true.shape != y_pred.shape[:-1] + (1,):
            raise ValueError(f"Loss '{self.name}': y_true and y_pred have incompatible shapes: "
                             f"expected class indices of shape {tuple(y_pred.shape[:-1])} for "
                             f"y_pred of shape {tuple(y_pred.shape)}, received "
                             f"{tuple(y_true.shape)}")
        return y_true if y_true.dtype == torch.int64 else y_true.long()

    def _terms(self, idx, y_pred):
        if self.from_logits:
            shifted, exps, total = _log_softmax_parts(y_pred, -1)
            terms = total.log() - shifted.gather(-1, idx)

            def grad(c):
                dz = exps / total
                dz.scatter_add_(-1, idx, torch.full_like(terms, -1.0))
                return dz.mul_(c)

            return terms, grad

        p_sum = y_pred.sum(-1, keepdim=True)
        q_i = y_pred.gather(-1, idx) / p_sum
        eps = config.epsilon()
        r_i = q_i.clamp(eps, 1.0 - eps)

        def grad(c):
            a = ((r_i == q_i) / (r_i * p_sum)).neg_().mul_(c)
            return torch.zeros_like(y_pred).scatter_(-1, idx, a).sub_(a * q_i)

        return -r_i.log(), grad

    def fused_with(self, activation):
        if activation == "softmax" and not self.from_logits:
            return type(self)(True, self.reduction, self.name)
        return None

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


def check_class_indices(y_true: torch.Tensor, n_classes, name: str) -> None:
    """ValueError naming `name` unless every entry is a whole number in [0, n_classes)."""
    if y_true.dtype.is_complex or y_true.dtype == torch.bool:
        raise TypeError(f"Invalid {name}: expected integer class indices, received dtype "
                        f"{y_true.dtype}")
    if y_true.numel() == 0 or n_classes is None:
        return
    if y_true.is_floating_point() and not bool(
            (torch.isfinite(y_true) & (y_true == y_true.round())).all()):
        raise ValueError(f"Invalid {name}: expected integer class indices, received non-integer "
                         f"or non-finite values")
    lo, hi = int(y_true.min()), int(y_true.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(f"Invalid {name}: class indices must lie in [0, {n_classes}) for y_pred "
                         f"with {n_classes} classes, received values in [{lo}, {hi}]")
