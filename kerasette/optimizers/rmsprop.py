"""RMSprop: divide the gradient by a running root mean square of recent gradients. Keras 3's rule.

    v <- rho * v + (1 - rho) * g^2                        ("velocity" slot, starts at 0)
    centered:  a <- rho * a + (1 - rho) * g               ("average_gradient" slot, starts at 0)
               d = v - a^2 + epsilon
    else:      d = v + epsilon
    step = lr * g / sqrt(d)
    momentum > 0:  m <- momentum * m + step;  w <- w - m  ("momentum" slot, starts at 0)
    else:          w <- w - step

Relation to PyTorch's RMSprop (alpha = rho): torch puts epsilon outside the square root,
g / (sqrt(v) + eps) (here: inside, as Keras), and its momentum buffer holds g / (sqrt(v) + eps) with
the learning rate applied afterwards (here: inside, as Keras), which only differs when the learning
rate changes. With a tiny epsilon and a constant learning rate they agree. Weight decay is decoupled
(w <- w - lr * weight_decay * w first); torch adds weight_decay * w to the gradient.
"""

import torch

from .arguments import check_bool, check_number
from .base import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012) with Keras's defaults, epsilon placement and momentum form."""

    _default_name = "rmsprop"
    _tensor_constants = ("epsilon", "momentum")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        self.rho = check_number("rho", rho, low=0.0, high=1.0, high_open=True)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
        self.centered = check_bool("centered", centered)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        slots = {"velocity": 0.0}
        if self.momentum > 0:
            slots["momentum"] = 0.0
        if self.centered:
            slots["average_gradient"] = 0.0
        return slots

    def _needs_scratch(self) -> bool:
        return True

    def _update_flat(self, params, grads, lr):
        s, c, scratch = self._slots, self._c, self._scratch
        v = s["velocity"]
        v.lerp_(torch.mul(grads, grads, out=scratch), 1 - self.rho)
        if self.centered:
            a = s["average_gradient"]
            a.lerp_(grads, 1 - self.rho)
            d = torch.addcmul(v, a, a, value=-1, out=scratch).add_(c["epsilon"])
        else:
            d = torch.add(v, c["epsilon"], out=scratch)
        d.sqrt_()
        if self.momentum > 0:
            m = s["momentum"]
            m.mul_(c["momentum"]).addcdiv_(grads, d, value=lr)
            params.sub_(m)
        else:
            params.addcdiv_(grads, d, value=-lr)

    def _update_weight(self, w, dw, slots, lr):
        v = slots["velocity"]
        v.lerp_(dw * dw, 1 - self.rho)                       # v <- rho v + (1 - rho) dw^2
        if self.centered:
            a = slots["average_gradient"]
            a.lerp_(dw, 1 - self.rho)                        # a <- rho a + (1 - rho) dw
            d = torch.addcmul(v, a, a, value=-1) + self.epsilon  # d = v - a^2 + eps
        else:
            d = v + self.epsilon                             # d = v + eps
        root = d.sqrt()
        if self.momentum > 0:
            m = slots["momentum"]
            m.mul_(self.momentum).addcdiv_(dw, root, value=lr)  # m <- momentum m + lr dw / sqrt(d)
            w.sub_(m)                                           # w <- w - m
        else:
            w.addcdiv_(dw, root, value=-lr)                     # w <- w - lr dw / sqrt(d)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
