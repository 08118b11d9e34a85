"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule. Keras 3.16's rule.

For step t = iterations + 1 (1-based), with the momentum cache mu_k = beta_1 * (1 - 0.5 *
0.96^k) and its running product P_t = mu_1 * ... * mu_t:

    m <- m + (1 - beta_1) * (g - m)                ("momentum" slot, starts at 0)
    v <- v + (1 - beta_2) * (g^2 - v)              ("velocity" slot, starts at 0)
    m_hat = mu_{t+1} * m / (1 - P_t * mu_{t+1}) + (1 - mu_t) * g / (1 - P_t)
    v_hat = v / (1 - beta_2^t)
    w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)

Keras keeps P_t as an optimizer variable; here it is a function of the step count (cached, so
one multiplication per step), so the saved state is just the slots and `iterations`.

Relation to PyTorch's NAdam: torch's cache is mu_k = beta_1 * (1 - 0.5 * 0.96^(k *
momentum_decay)) with momentum_decay = 0.004 by default; with momentum_decay=1.0 torch's rule is
exactly this one (same epsilon placement). Weight decay is decoupled (torch adds weight_decay * w
to the gradient unless decoupled_weight_decay=True).
"""

import torch

from .arguments import check_number
from .base import Optimizer


class Nadam(Optimizer):
    """Nadam (Dozat, 2016) with Keras's defaults and momentum schedule."""

    _default_name = "nadam"
    _tensor_constants = ("epsilon",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)
        self._product = (0, 1.0)  # (k, mu_1 * ... * mu_k)

    def _slot_inits(self) -> dict:
        return {"momentum": 0.0, "velocity": 0.0}

    def _needs_scratch(self) -> int:
        return 1

    def _mu(self, k: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** k)

    def _mu_product(self, t: int) -> float:
        """P_t = mu_1 * ... * mu_t, from the cached P_{t-1} when the steps run in order."""
        k, p = self._product
        if k > t:
            k, p = 0, 1.0
        while k < t and p != 0.0:  # (the product underflows to 0 after ~7000 steps)
            k += 1
            p *= self._mu(k)
        k = t
        self._product = (k, p)
        return p

    def _coefficients(self, lr: float):
        """(a_g, a_m, c_v): w <- w - a_g * g / d - a_m * m / d with d = sqrt(c_v * v) + eps."""
        t = self.iterations + 1
        mu, mu_next = self._mu(t), self._mu(t + 1)
        p = self._mu_product(t)
        a_g = lr * (1.0 - mu) / (1.0 - p)
        a_m = lr * mu_next / (1.0 - p * mu_next)
        return a_g, a_m, 1.0 / (1.0 - self.beta_2 ** t)

    def _update_flat(self, params, grads, lr):
        s, scratch = self._slots, self._scratch
        m, v = s["momentum"], s["velocity"]
        a_g, a_m, c_v = self._coefficients(lr)
        m.lerp_(grads, 1 - self.beta_1)
        v.lerp_(torch.mul(grads, grads, out=scratch), 1 - self.beta_2)
        denom = torch.mul(v, c_v, out=scratch).sqrt_().add_(self._c["epsilon"])
        params.addcdiv_(grads, denom, value=-a_g).addcdiv_(m, denom, value=-a_m)

    def _update_weight(self, w, dw, slots, lr):
        m, v = slots["momentum"], slots["velocity"]
        a_g, a_m, c_v = self._coefficients(lr)
        m.lerp_(dw, 1 - self.beta_1)                            # m <- m + (1 - b1)(dw - m)
        v.lerp_(dw * dw, 1 - self.beta_2)                       # v <- v + (1 - b2)(dw^2 - v)
        denom = (v * c_v).sqrt_().add_(self.epsilon)            # sqrt(v_hat) + eps
        w.addcdiv_(dw, denom, value=-a_g)                       # the gradient's share of m_hat
        w.addcdiv_(m, denom, value=-a_m)                        # the momentum's share

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
