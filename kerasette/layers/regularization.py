"""`ActivityRegularization`: the identity, plus a penalty on its input added to the loss.

For a batch x of N samples (Keras 3 divides an activity penalty by the batch size, so its weight
relative to the loss does not change with the batch size; checked in Keras 3.16's `Layer.__call__`):

    y = x
    penalty = (l1 * sum(|x|) + l2 * sum(x^2)) / N               reported with `add_loss`
    dx = dy + (l1 * sign(x) + 2 * l2 * x) / N                   the penalty's gradient, added here

The penalty is only reported (`layer.losses`); its gradient reaches the network through this
layer's backward, so training is right whatever the trainer does with the reported value.

In a data-parallel training step (`kerasette.distribution`), x is this rank's share of a global batch
of N rows: N is then the global batch size, so the ranks' penalties and gradients add up to one
process's exactly (the trainer sums the reported values across ranks).
"""

from ..distribution.share import current_share
from ..regularizers import L1L2
from .base import Layer


class ActivityRegularization(Layer):
    """Identity layer that penalises its input's activity: l1 * sum|x| + l2 * sum x^2 per batch,
    divided by the batch size. Args: l1, l2 (non-negative floats, default 0)."""

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    adds_loss = True  # the trainer adds `losses` to the reported loss (and clears them)

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        regularizer = L1L2(l1=l1, l2=l2)  # validates l1 and l2, naming them
        super().__init__(**kwargs)
        self.l1, self.l2 = regularizer.l1, regularizer.l2
        self._regularizer = regularizer

    def forward(self, x, training=False):
        n = x.shape[0] if x.dim() > 0 and x.shape[0] > 0 else 1
        share = current_share()  # (lo, hi, N) inside a data-parallel step
        if share is not None and x.dim() > 0 and x.shape[0] == share[1] - share[0]:
            n = max(share[2], 1)
        reg = self._regularizer
        self.add_loss(reg(x) / n)

        def backward(dy):
            return dy + reg.gradient(x).div_(n)
        return x, backward

    def get_config(self) -> dict:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
