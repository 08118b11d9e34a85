"""Adadelta: step sizes from running averages of squared gradients and squared updates. Keras 3.16.

    a <- rho * a + (1 - rho) * g^2                          ("accumulated_grad", starts at 0)
    delta = sqrt(d + epsilon) / sqrt(a + epsilon) * g       (d: "accumulated_delta_var", from 0)
    d <- rho * d + (1 - rho) * delta^2
    w <- w - lr * delta

This is also PyTorch's Adadelta rule (same epsilon placement); only the defaults differ: Keras
(and here) learning_rate=0.001, rho=0.95, epsilon=1e-7; torch lr=1.0, rho=0.9, eps=1e-6. Weight
decay is decoupled (torch adds weight_decay * w to the gradient).
"""

import torch

from .arguments import check_number
from .base import Optimizer


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012) with Keras's defaults."""

    _default_name = "adadelta"
    _tensor_constants = ("epsilon", "rho")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        self.rho = check_number("rho", rho, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        return {"accumulated_grad": 0.0, "accumulated_delta_var": 0.0}

    def _needs_scratch(self) -> int:
        return 2

    def _update_flat(self, params, grads, lr):
        s, c = self._slots, self._c
        a, d = s["accumulated_grad"], s["accumulated_delta_var"]
        rms_g, delta = self._scratches
        a.mul_(c["rho"]).addcmul_(grads, grads, value=1 - self.rho)
        torch.add(a, c["epsilon"], out=rms_g).sqrt_()
        torch.add(d, c["epsilon"], out=delta).sqrt_().div_(rms_g).mul_(grads)
        d.mul_(c["rho"]).addcmul_(delta, delta, value=1 - self.rho)
        params.add_(delta, alpha=-lr)

    def _update_weight(self, w, dw, slots, lr):
        a, d = slots["accumulated_grad"], slots["accumulated_delta_var"]
        a.mul_(self.rho).addcmul_(dw, dw, value=1 - self.rho)   # a <- rho a + (1 - rho) dw^2
        rms_g = (a + self.epsilon).sqrt_()                      # sqrt(a + eps)
        delta = (d + self.epsilon).sqrt_().div_(rms_g).mul_(dw)  # sqrt(d + eps) / rms_g * dw
        d.mul_(self.rho).addcmul_(delta, delta, value=1 - self.rho)  # d <- rho d + (1-rho) delta^2
        w.add_(delta, alpha=-lr)                                # w <- w - lr delta

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
