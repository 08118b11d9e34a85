"""Losses that compare whole vectors, one term per sample (Keras 3.16 `keras/src/losses/losses.py`):
KLDivergence (sums over the last axis) and CosineSimilarity (over `axis`).

Their terms keep the compared axis with size 1 (as the categorical cross-entropies), so sample
weights broadcast; c is the reduction's scale times the sample weights (see `base`).
"""

from .. import config
from .base import Loss, check_axis, non_batch_axis, same_shape_targets


class KLDivergence(Loss):
    """Kullback-Leibler divergence of y_pred from y_true, summed over the last axis:

        t = clip(y_true, eps, 1), p = clip(y_pred, eps, 1)     (eps = config.epsilon(), as Keras)
        term = sum_j t_j log(t_j / p_j),   gradient = -t / p c where y_pred was in [eps, 1], 0 where
        the clip changed it.

    y_true, y_pred: (N, ..., k), or (N,) for one entry per sample; value 0-d; backward() -> y_pred's
    shape.
    """

    default_name = "kl_divergence"

    def __init__(self, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction=reduction, name=name)

    def _axis(self, y_pred):
        return y_pred.dim() - 1 if y_pred.dim() > 1 else None

    def _check(self, y_true, y_pred):
        return same_shape_targets(self, y_true, y_pred)

    def _terms(self, y_true, y_pred):
        eps = config.epsilon()
        t = y_true.clamp(eps, 1.0)
        p = y_pred.clamp(eps, 1.0)
        entries = t * (t / p).log_()
        terms = entries.sum(-1, keepdim=True) if y_pred.dim() > 1 else entries

        def grad(c):
            return (t / p).neg_().mul_(p == y_pred).mul_(c)

        return terms, grad


class CosineSimilarity(Loss):
    """Negative cosine similarity along `axis` (Keras: 0 for a zero vector; -1 is best):

        u = y_true / max(|y_true|, eps), v = y_pred / max(|y_pred|, eps),  term = -sum_j u_j v_j
        gradient = (v (u . v) - u) / |y_pred| c       when |y_pred| > eps
                   -u / eps c                         otherwise (the norm is then the constant eps)

    (Keras writes x * rsqrt(max(sum x^2, eps^2)), the same normalisation.)
    y_true, y_pred: (N, ..., k) with `axis` not the batch axis; value 0-d; backward() -> y_pred's
    shape.
    """

    default_name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction="sum_over_batch_size", name=None):
        self.axis = check_axis(axis)
        super().__init__(reduction=reduction, name=name)

    def _axis(self, y_pred):
        return non_batch_axis(self, y_pred)

    def _check(self, y_true, y_pred):
        self._axis(y_pred)
        return same_shape_targets(self, y_true, y_pred)

    def _terms(self, y_true, y_pred):
        axis = self._axis(y_pred)
        eps = config.epsilon()
        u = y_true / y_true.square().sum(axis, keepdim=True).clamp_(min=eps * eps).sqrt_()
        sq = y_pred.square().sum(axis, keepdim=True)
        norm = sq.clamp(min=eps * eps).sqrt_()
        v = y_pred / norm
        dot = (u * v).sum(axis, keepdim=True)

        def grad(c):
            dv = v * (dot * (sq > eps * eps))  # the norm's own derivative, where it is not clipped
            return dv.sub_(u).div_(norm).mul_(c)

        return -dot, grad

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
