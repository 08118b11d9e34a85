"""Weight constraints (Keras 3 names, defaults and formulas, checked against Keras 3.16's source).

A constraint projects a weight back into an allowed set after each optimizer step: the trainer runs
`W.copy_(constraint(W))`. With n = sqrt(sum over `axis` of W^2) (kept as a broadcastable axis) and
eps = 1e-7 (Keras's `backend.epsilon()`):

    MaxNorm(max_value=2, axis=0)      W * clip(n, 0, max_value) / (eps + n)
    NonNeg()                          max(W, 0)
    UnitNorm(axis=0)                  W / (eps + n)
    MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)
                                      W * (rate * clip(n, min_value, max_value) + (1 - rate) * n)
                                        / (eps + n)

For a Dense kernel (in, units), axis=0 bounds the norm of each unit's incoming weights; for a Conv2D
kernel (kh, kw, in, out) use axis=[0, 1, 2] for each filter.

Strings: "max_norm" / "MaxNorm", "non_neg" / "NonNeg", "unit_norm" / "UnitNorm",
"min_max_norm" / "MinMaxNorm" (default arguments). A custom constraint is any callable
`W -> projected W` (subclass `Constraint` to save it with a model).
"""

import numbers

import torch

from .regularizers import non_negative
from .serialization import Configurable, Registry

EPSILON = 1e-7


class Constraint(Configurable):
    """Base class: `__call__(w)` returns the projected weight (the identity here)."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w


class MaxNorm(Constraint):
    """Rescale each slice along `axis` whose L2 norm exceeds `max_value` down to that norm."""

    def __init__(self, max_value: float = 2, axis=0):
        self.max_value = non_negative("max_value", max_value)
        self.axis = _axis(axis)

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative entries become 0."""

    def __call__(self, w):
        return w.clamp(min=0)


class UnitNorm(Constraint):
    """Each slice along `axis` divided by its L2 norm (plus eps)."""

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each slice's L2 norm a fraction `rate` of the way into [min_value, max_value]."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0):
        self.min_value = non_negative("min_value", min_value)
        self.max_value = non_negative("max_value", max_value)
        if self.max_value < self.min_value:
            raise ValueError(f"Invalid max_value: expected >= min_value={self.min_value}, "
                             f"received {max_value!r}")
        self.rate = non_negative("rate", rate)
        self.axis = _axis(axis)

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras 3's lower-case aliases of the classes.
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES = {"Constraint": Constraint, "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm,
            "MinMaxNorm": MinMaxNorm}
_STRINGS = {**_CLASSES, "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
            "min_max_norm": MinMaxNorm}
_NAMES = Registry("constraint", Constraint, "a Constraint", _CLASSES, _STRINGS,
                  accepts=lambda c: callable(c) and not isinstance(c, type),
                  expected="a string such as 'max_norm', a config dict or a Constraint",
                  builtins="a built-in one")

get, serialize, deserialize = _NAMES.get, _NAMES.serialize, _NAMES.deserialize


def _norms(w: torch.Tensor, axis) -> torch.Tensor:
    """sqrt(sum of w^2 over `axis`), keeping the reduced axes (so it broadcasts against w)."""
    dims = axis if isinstance(axis, int) else tuple(axis)
    return (w * w).sum(dim=dims, keepdim=True).sqrt()


def _axis(axis):
    """An int, or a list of ints (returned as a list, JSON-friendly), else a TypeError."""
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
        return [int(a) for a in axis]
    raise TypeError(f"Invalid axis: expected an int or a non-empty list of ints, received {axis!r}")
