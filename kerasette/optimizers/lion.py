"""Lion: the sign of an interpolated momentum as the update. Keras 3.16's rule.

    w <- w - lr * sign(beta_1 * m + (1 - beta_1) * g)
    m <- beta_2 * m + (1 - beta_2) * g              ("momentum" slot, starts at 0)

Every entry moves by exactly lr (or 0), so Lion wants a learning rate 3-10x smaller than Adam's.
PyTorch has no Lion. beta_1 must lie in (0, 1] (Keras: 0 would make it signSGD); weight decay is
decoupled (w <- w - lr * weight_decay * w first), as in the paper.
"""

import torch

from .arguments import check_number
from .base import Optimizer


class Lion(Optimizer):
    """Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms")."""

    _default_name = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, low_open=True)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        return {"momentum": 0.0}

    def _needs_scratch(self) -> int:
        return 1

    def _update_flat(self, params, grads, lr):
        m = self._slots["momentum"]
        params.add_(torch.lerp(m, grads, 1 - self.beta_1, out=self._scratch).sign_(), alpha=-lr)
        m.lerp_(grads, 1 - self.beta_2)

    def _update_weight(self, w, dw, slots, lr):
        m = slots["momentum"]
        direction = torch.lerp(m, dw, 1 - self.beta_1).sign_()  # sign(b1 m + (1 - b1) dw)
        w.add_(direction, alpha=-lr)                            # w <- w - lr * direction
        m.lerp_(dw, 1 - self.beta_2)                            # m <- b2 m + (1 - b2) dw

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
