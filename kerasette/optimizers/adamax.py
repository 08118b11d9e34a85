"""Adamax: Adam with the infinity norm in place of the root mean square. Keras 3.16's rule.

For step t = iterations + 1 (1-based):

    m <- m + (1 - beta_1) * (g - m)                ("momentum" slot, starts at 0)
    u <- max(beta_2 * u, |g|)                      ("norm" slot, starts at 0)
    w <- w - lr / (1 - beta_1^t) * m / (u + epsilon)

Relation to PyTorch's Adamax: torch adds epsilon inside the maximum, u <- max(beta_2 * u,
|g| + eps), and divides by u; here (as Keras) it is added after, m / (u + epsilon). They agree as
epsilon -> 0. Weight decay is decoupled (w <- w - lr * weight_decay * w first); torch adds
weight_decay * w to the gradient.
"""

import torch

from .arguments import check_number
from .base import Optimizer


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2014, section 7) with Keras's defaults and epsilon placement."""

    _default_name = "adamax"
    _tensor_constants = ("epsilon", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        return {"momentum": 0.0, "norm": 0.0}

    def _needs_scratch(self) -> int:
        return 1

    def _step_size(self, lr: float) -> float:
        """lr / (1 - beta_1^t): the learning rate with the bias correction of m."""
        return lr / (1.0 - self.beta_1 ** (self.iterations + 1))

    def _update_flat(self, params, grads, lr):
        s, c, scratch = self._slots, self._c, self._scratch
        m, u = s["momentum"], s["norm"]
        m.lerp_(grads, 1 - self.beta_1)
        torch.maximum(u.mul_(c["beta_2"]), torch.abs(grads, out=scratch), out=u)
        params.addcdiv_(m, torch.add(u, c["epsilon"], out=scratch), value=-self._step_size(lr))

    def _update_weight(self, w, dw, slots, lr):
        m, u = slots["momentum"], slots["norm"]
        m.lerp_(dw, 1 - self.beta_1)                            # m <- m + (1 - b1)(dw - m)
        u.copy_(torch.maximum(u * self.beta_2, dw.abs()))       # u <- max(b2 u, |dw|)
        w.addcdiv_(m, u + self.epsilon, value=-self._step_size(lr))  # w <- w - a m / (u + eps)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
