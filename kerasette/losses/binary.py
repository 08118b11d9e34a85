"""Binary cross-entropy, on probabilities or (numerically stable) on logits."""

from .. import config
from .base import check_flag, check_label_smoothing, same_shape_targets
from .regression import _PerOutputLoss


class BinaryCrossentropy(_PerOutputLoss):
    """Binary cross-entropy, averaged over the last axis as Keras (one loss per sample).

    Targets y (any dtype, y_pred's shape; (N,) and (N, 1) interchangeable) are first smoothed:
    y <- y (1 - label_smoothing) + label_smoothing / 2. With c the reduction's scale times the
    sample weights (see `base`):

    from_logits=True, z = y_pred (stable log-sigmoid form; finite for |z| = 1e4):
        term = max(z, 0) - z y + log1p(exp(-|z|))        (= -y log s(z) - (1-y) log(1 - s(z)))
        gradient = (sigmoid(z) - y) c
    from_logits=False, p = clip(y_pred, eps, 1 - eps) with eps = config.epsilon() (as Keras):
        term = -(y log p + (1 - y) log(1 - p))
        gradient = (p - y) / (p (1 - p)) c where y_pred was not clipped, 0 where it was (the
        derivative of the clip), exactly what autograd gives for this math.

    `fused_with("sigmoid")` gives the from_logits=True twin: a model then feeds it the logits
    before the sigmoid, and the gradient w.r.t. the logits is the stable (sigmoid(z) - y) c. Its
    value equals this loss's on sigmoid(z) except where sigmoid(z) would be clipped to
    [eps, 1 - eps] (|z| > ~16): there the fused value is exact and keeps a gradient.
    """

    default_name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction="sum_over_batch_size", name=None):
        self.from_logits = check_flag("from_logits", from_logits)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        super().__init__(reduction=reduction, name=name)

    def _check(self, y_true, y_pred):
        y_true = same_shape_targets(self, y_true, y_pred)
        ls = self.label_smoothing
        return y_true * (1.0 - ls) + 0.5 * ls if ls else y_true

    def _terms(self, y, y_pred):
        if self.from_logits:
            z = y_pred
            terms = z.clamp(min=0) - z * y + z.abs().neg_().exp_().log1p_()

            def grad(c):
                return (z.sigmoid() - y).mul_(c)

            return terms, grad

        eps = config.epsilon()
        p = y_pred.clamp(eps, 1.0 - eps)
        log_1mp = (-p).log1p_()
        terms = -(y * (p.log() - log_1mp) + log_1mp)

        def grad(c):
            kept = p == y_pred  # False where the clip changed the value: zero gradient there
            return ((p - y) / (p * (1.0 - p))).mul_(kept).mul_(c)

        return terms, grad

    def fused_with(self, activation):
        if activation == "sigmoid" and not self.from_logits:
            return type(self)(True, self.label_smoothing, self.reduction, self.name)
        return None

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}
