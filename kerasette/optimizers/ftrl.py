"""FTRL-Proximal: "follow the regularized leader" with L1 / L2 terms, for wide sparse models.
Keras 3.16's rule (McMahan et al., 2013), with p = learning_rate_power (default -0.5):

    n_new = n + g^2                                       ("accumulator", starts at
                                                          initial_accumulator_value)
    g' = g + 2 * l2_shrinkage_regularization_strength * w
    z <- z + g' - (n_new^(-p) - n^(-p)) / lr * w          ("linear" slot, starts at 0)
    q = n_new^(-p) / lr + 2 * (l2_regularization_strength + beta / (2 * lr))
    w <- (clip(z, -l1, l1) - z) / q                       (l1 = l1_regularization_strength)
    n <- n_new

So w is 0 wherever |z| <= l1: L1 here gives exact zeros. The rate divides, so it must be > 0.
PyTorch has no FTRL.
"""

import torch

from .arguments import check_number
from .base import Optimizer


class Ftrl(Optimizer):
    """FTRL-Proximal with Keras's arguments and defaults."""

    _default_name = "ftrl"
    _lr_low_open = True

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        self.learning_rate_power = check_number("learning_rate_power", learning_rate_power,
                                                low=-float("inf"), high=0.0)
        self.initial_accumulator_value = check_number(
            "initial_accumulator_value", initial_accumulator_value, low=0.0)
        self.l1_regularization_strength = check_number(
            "l1_regularization_strength", l1_regularization_strength, low=0.0)
        self.l2_regularization_strength = check_number(
            "l2_regularization_strength", l2_regularization_strength, low=0.0)
        self.l2_shrinkage_regularization_strength = check_number(
            "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength, low=0.0)
        self.beta = check_number("beta", beta, low=0.0)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        return {"accumulator": self.initial_accumulator_value, "linear": 0.0}

    def _needs_scratch(self) -> int:
        return 2

    def _quadratic_shift(self, lr: float) -> float:
        """2 * (l2 + beta / (2 lr)): the constant part of q."""
        return 2.0 * (self.l2_regularization_strength + self.beta / (2.0 * lr))

    def _update_flat(self, params, grads, lr):
        s, (old, new) = self._slots, self._scratches
        n, z = s["accumulator"], s["linear"]
        power, l1 = -self.learning_rate_power, self.l1_regularization_strength
        torch.pow(n, power, out=old)                            # n^(-p)
        n.addcmul_(grads, grads)                                # n <- n + g^2
        torch.pow(n, power, out=new)                            # n_new^(-p)
        old.sub_(new).mul_(params)                              # -(n_new^(-p) - n^(-p)) * w
        z.add_(grads).add_(old, alpha=1.0 / lr)
        if self.l2_shrinkage_regularization_strength:
            z.add_(params, alpha=2.0 * self.l2_shrinkage_regularization_strength)
        q = new.div_(lr).add_(self._quadratic_shift(lr))
        torch.clamp(z, -l1, l1, out=old).sub_(z).div_(q)
        params.copy_(old)

    def _update_weight(self, w, dw, slots, lr):
        n, z = slots["accumulator"], slots["linear"]
        power, l1 = -self.learning_rate_power, self.l1_regularization_strength
        root_old = n.pow(power)                                 # n^(-p)
        n.addcmul_(dw, dw)                                      # n <- n_new = n + dw^2
        root_new = n.pow(power)                                 # n_new^(-p)
        minus_sigma_w = (root_old - root_new) * w               # -sigma * w * lr
        z.add_(dw).add_(minus_sigma_w, alpha=1.0 / lr)          # z <- z + dw - sigma w
        if self.l2_shrinkage_regularization_strength:           # g' = dw + 2 l2_shrinkage w
            z.add_(w, alpha=2.0 * self.l2_shrinkage_regularization_strength)
        q = root_new / lr + self._quadratic_shift(lr)           # q
        w.copy_((z.clamp(-l1, l1) - z) / q)                     # w <- (clip(z, -l1, l1) - z) / q

    def get_config(self) -> dict:
        return {**super().get_config(),
                "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
