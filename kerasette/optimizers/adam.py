"""Adam: momentum on the gradient and on its square, with bias correction. Keras 3's rule.

For step t = iterations + 1 (1-based):

    m <- m + (1 - beta_1) * (g - m)                       ("momentum" slot, starts at 0)
    v <- v + (1 - beta_2) * (g^2 - v)                     ("velocity" slot, starts at 0)
    amsgrad:  v_hat <- max(v_hat, v), and v_hat replaces v below   ("velocity_hat" slot)
    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    w <- w - alpha * m / (sqrt(v) + epsilon)

Epsilon is Keras's "epsilon hat": it is added to sqrt(v) before the bias correction of v.
PyTorch's Adam adds it after, w <- w - lr / (1 - beta_1^t) * m / (sqrt(v / (1 - beta_2^t)) + eps);
the two agree when eps_torch = epsilon / sqrt(1 - beta_2^t), so they agree up to O(epsilon) and
exactly as epsilon -> 0. Keras's default epsilon is 1e-7 (torch: 1e-8). Adam's `weight_decay` is
decoupled, as in Keras (w <- w - lr * weight_decay * w before the update, i.e. AdamW); torch's Adam
adds weight_decay * w to the gradient (L2 regularisation) instead.

The flat step is six tensor operations (lerp, mul, lerp, sqrt, add, addcdiv; a seventh, maximum,
for amsgrad) whatever the number of weights; the bias corrections are Python floats.
"""

import math

import torch

from .arguments import check_bool, check_number
from .base import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), optionally AMSGrad (Reddi et al., 2018), with Keras's defaults."""

    _default_name = "adam"
    _tensor_constants = ("epsilon",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
        self.amsgrad = check_bool("amsgrad", amsgrad)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        slots = {"momentum": 0.0, "velocity": 0.0}
        if self.amsgrad:
            slots["velocity_hat"] = 0.0
        return slots

    def _needs_scratch(self) -> bool:
        return True

    def _alpha(self, lr: float) -> float:
        """Step size with both bias corrections: lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)."""
        t = self.iterations + 1
        return lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)

    def _update_flat(self, params, grads, lr):
        s, scratch = self._slots, self._scratch
        m, v = s["momentum"], s["velocity"]
        m.lerp_(grads, 1 - self.beta_1)
        v.lerp_(torch.mul(grads, grads, out=scratch), 1 - self.beta_2)
        if self.amsgrad:
            v = torch.maximum(s["velocity_hat"], v, out=s["velocity_hat"])
        denom = torch.sqrt(v, out=scratch).add_(self._c["epsilon"])
        params.addcdiv_(m, denom, value=-self._alpha(lr))

    def _update_weight(self, w, dw, slots, lr):
        m, v = slots["momentum"], slots["velocity"]
        m.lerp_(dw, 1 - self.beta_1)                              # m <- m + (1 - b1)(dw - m)
        v.lerp_(dw * dw, 1 - self.beta_2)                         # v <- v + (1 - b2)(dw^2 - v)
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            v_hat.copy_(torch.maximum(v_hat, v))                  # v_hat <- max(v_hat, v)
            v = v_hat
        denom = v.sqrt().add_(self.epsilon)                       # sqrt(v) + eps
        w.addcdiv_(m, denom, value=-self._alpha(lr))              # w <- w - alpha m / (sqrt(v)+eps)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}
