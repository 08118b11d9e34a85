"""Weight regularizers (Keras 3 names and formulas, checked against Keras 3.16's source).

A regularizer turns a weight W into a penalty added to the training loss, and gives its gradient:

    L1(l1=0.01)             penalty = l1 * sum(|W|)                  gradient = l1 * sign(W)
    L2(l2=0.01)             penalty = l2 * sum(W^2)                  gradient = 2 * l2 * W
    L1L2(l1=0.0, l2=0.0)    penalty = l1 * sum(|W|) + l2 * sum(W^2)  gradient = the sum of both

(sign(0) = 0: the subgradient of |w| at 0 that autograd also picks.) Note Keras's L2 has no 1/2: its
gradient is 2 * l2 * W, so `l2=0.01` is PyTorch's `weight_decay=0.02` on plain SGD.

Layers attach a regularizer to a weight (`Dense(4, kernel_regularizer="l2")`); the trainer adds
`regularizer(W)` to the loss and `regularizer.gradient(W)` to `W.grad` after the backward pass.

Strings, as Keras takes them: "l1" / "L1", "l2" / "L2" (factor 0.01), "l1_l2" (l1 = l2 = 0.01, the
factors Keras's documentation gives for that string; Keras 3.16's own lookup does not find
"l1_l2", only "L1L2" / "l1l2", which give l1 = l2 = 0 like `L1L2()`).

A custom regularizer is any object with `__call__(W) -> 0-d tensor` and `gradient(W) -> tensor of
W's shape` (subclass `Regularizer`); a bare function has no gradient and is refused, since nothing
here differentiates automatically.
"""

import math
import numbers

import torch

from .serialization import Configurable, Registry


class Regularizer(Configurable):
    """Base class: `__call__(x)` is the penalty (a 0-d tensor), `gradient(x)` its derivative."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(())

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class L1L2(Regularizer):
    """penalty = l1 * sum(|x|) + l2 * sum(x^2); gradient = l1 * sign(x) + 2 * l2 * x."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = non_negative("l1", 0.0 if l1 is None else l1)
        self.l2 = non_negative("l2", 0.0 if l2 is None else l2)

    def __call__(self, x):
        penalty = x.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * x.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * (x * x).sum()
        return penalty

    def gradient(self, x):
        grad = torch.zeros_like(x)
        if self.l1:
            grad.add_(torch.sign(x), alpha=self.l1)
        if self.l2:
            grad.add_(x, alpha=2.0 * self.l2)
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """penalty = l1 * sum(|x|); gradient = l1 * sign(x)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """penalty = l2 * sum(x^2); gradient = 2 * l2 * x."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


# Keras 3 exports the lower-case names as aliases of the classes: l2(0.1) is L2(0.1).
l1, l2, l1_l2 = L1, L2, L1L2

_CLASSES = {"Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2}
_STRINGS = {"l1": L1, "L1": L1, "l2": L2, "L2": L2, "L1L2": L1L2, "l1l2": L1L2,
            "l1_l2": lambda: L1L2(l1=0.01, l2=0.01)}
_NAMES = Registry("regularizer", Regularizer, "a Regularizer", _CLASSES, _STRINGS,
                  accepts=lambda r: callable(r) and callable(getattr(r, "gradient", None)),
                  expected="a string such as 'l2', a config dict or a Regularizer with a "
                           "gradient() method",
                  builtins="L1, L2 or L1L2")

get, serialize, deserialize = _NAMES.get, _NAMES.serialize, _NAMES.deserialize


def non_negative(name: str, value) -> float:
    """A finite, non-negative float (a penalty factor here, a norm bound in constraints), or a
    ValueError naming it (as Keras)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value >= 0):
        raise ValueError(f"Invalid {name}: expected a non-negative float, received {value!r}")
    return float(value)
