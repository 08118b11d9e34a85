"""SGD: gradient descent, optionally with (Nesterov) momentum. Keras 3's update rule.

    momentum = 0:   w <- w - lr * g
    momentum > 0:   v <- momentum * v - lr * g          (v: the "momentum" slot, starts at 0)
                    w <- w + v
    nesterov:       v <- momentum * v - lr * g
                    w <- w + momentum * v - lr * g

Relation to PyTorch's SGD (dampening=0): torch keeps b <- momentum * b + g and steps
w <- w - lr * b (nesterov: w <- w - lr * (g + momentum * b)). With a constant learning rate
v = -lr * b and the two are the same; when the learning rate changes (a schedule,
ReduceLROnPlateau) Keras's velocity keeps the old rates' steps while torch rescales the whole
buffer by the new rate. kerasette follows Keras, since its users port Keras scripts.

Weight decay is decoupled, as in Keras: w <- w - lr * weight_decay * w before the update. torch's
`weight_decay` adds weight_decay * w to the gradient instead; without momentum the two coincide.
"""

from .arguments import check_bool, check_number
from .base import Optimizer


class SGD(Optimizer):
    """Gradient descent with optional momentum and Nesterov momentum (see module docstring)."""

    _default_name = "SGD"
    _tensor_constants = ("momentum",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.nesterov = check_bool("nesterov", nesterov)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        return {"momentum": 0.0} if self.momentum > 0 else {}

    def _update_flat(self, params, grads, lr):
        if self.momentum == 0:
            params.add_(grads, alpha=-lr)
            return
        v = self._slots["momentum"]
        v.mul_(self._c["momentum"]).add_(grads, alpha=-lr)
        if self.nesterov:
            params.add_(v, alpha=self.momentum).add_(grads, alpha=-lr)
        else:
            params.add_(v)

    def _update_weight(self, w, dw, slots, lr):
        if self.momentum == 0:
            w.add_(dw, alpha=-lr)                              # w <- w - lr * dw
            return
        v = slots["momentum"]
        v.mul_(self.momentum).add_(dw, alpha=-lr)              # v <- momentum * v - lr * dw
        if self.nesterov:
            w.add_(v, alpha=self.momentum).add_(dw, alpha=-lr)  # w <- w + momentum * v - lr * dw
        else:
            w.add_(v)                                          # w <- w + v

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
