"""Adagrad: per-entry learning rates that shrink with the sum of squared gradients. Keras 3's rule.

    a <- a + g^2              ("accumulator" slot, starts at initial_accumulator_value)
    w <- w - lr * g / sqrt(a + epsilon)

Epsilon sits inside the square root, as in Keras. PyTorch's Adagrad puts it outside,
w <- w - lr * g / (sqrt(a) + eps), and has no default starting value (0); with
initial_accumulator_value > 0 and a tiny epsilon the two agree. Weight decay is decoupled
(w <- w - lr * weight_decay * w first), where torch adds weight_decay * w to the gradient.
"""

import torch

from .arguments import check_number
from .base import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011) with Keras's defaults and epsilon placement."""

    _default_name = "adagrad"
    _tensor_constants = ("epsilon",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        self.initial_accumulator_value = check_number(
            "initial_accumulator_value", initial_accumulator_value, low=0.0)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        return {"accumulator": self.initial_accumulator_value}

    def _needs_scratch(self) -> bool:
        return True

    def _update_flat(self, params, grads, lr):
        a = self._slots["accumulator"]
        a.addcmul_(grads, grads)
        denom = torch.add(a, self._c["epsilon"], out=self._scratch).sqrt_()
        params.addcdiv_(grads, denom, value=-lr)

    def _update_weight(self, w, dw, slots, lr):
        a = slots["accumulator"]
        a.addcmul_(dw, dw)                                 # a <- a + dw^2
        denom = (a + self.epsilon).sqrt_()                 # sqrt(a + eps)
        w.addcdiv_(dw, denom, value=-lr)                   # w <- w - lr * dw / sqrt(a + eps)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
