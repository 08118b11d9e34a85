"""`optimizer.learning_rate` as Keras 3 exposes it: a scalar variable, not a plain float.

Scripts written for Keras read and steer the rate in several ways; all of these work:

    float(opt.learning_rate); opt.learning_rate.numpy(); opt.learning_rate * 0.5
    opt.learning_rate.assign(1e-3); opt.learning_rate = 1e-3
    ks.backend.get_value(opt.learning_rate); ks.backend.set_value(opt.learning_rate, 1e-3)

`LearningRate` is a live view of its optimizer's rate (as a Keras variable is): after an `assign`
every reference to it sees the new value. The value itself is kept as a Python float, which is
what the flat step reads: an `assign` costs no tensor operation and a step no device
synchronisation. `.value` is the same number as a 0-d tensor on the weights' device.

Differences from Keras's torch backend: arithmetic (`lr * 0.5`) returns a Python float where Keras
returns a tensor (both work with `float()`, printing and assignment), and an `assign` of a device
tensor reads it back to the host once, at the assignment.
With a schedule (or a callable) the view is read-only: it shows the rate of the next step and its
`assign` raises a TypeError, as Keras's does.
"""

import math
import numbers

import numpy as np
import torch

from .. import config


def to_float(arg: str, value) -> float:
    """A Python float from a number, a 0-d (or 1-element) tensor / array, or a LearningRate; a
    TypeError naming `arg` for anything else (complex numbers, strings, larger arrays)."""
    if isinstance(value, LearningRate):
        return float(value)
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        complex_ = value.is_complex() if isinstance(value, torch.Tensor) else np.iscomplexobj(value)
        if size != 1 or complex_ or value.dtype == bool or value.dtype == torch.bool:
            raise TypeError(f"Invalid {arg}: expected a real float (or a 1-element real tensor), "
                            f"received a {type(value).__name__} of dtype {value.dtype} and shape "
                            f"{tuple(value.shape)}")
        return float(value.item())
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {arg}: expected a float, received {type(value).__name__} "
                        f"{value!r}")
    return float(value)


def check_rate(arg: str, value, low_open: bool = False) -> float:
    """`to_float(value)`, then finite and >= 0 (> 0 with low_open), else a ValueError naming `arg`."""
    value = to_float(arg, value)
    if not math.isfinite(value) or value < 0 or (low_open and value == 0):
        raise ValueError(f"Invalid {arg}: expected a finite float {'>' if low_open else '>='} 0, "
                         f"received {value!r}")
    return value


class LearningRate:
    """The learning rate of `optimizer`, behaving like a Keras scalar variable (see module doc)."""

    __slots__ = ("_optimizer", "_snapshot")
    name = "learning_rate"
    shape = ()
    trainable = False

    def __init__(self, optimizer, snapshot=None):
        self._optimizer = optimizer
        self._snapshot = snapshot  # a schedule's value at one step (read-only), else None

    # ----- reading ---------------------------------------------------------------------------
    def __float__(self) -> float:
        return self._optimizer._lr if self._snapshot is None else self._snapshot

    @property
    def dtype(self) -> str:
        return config.floatx()

    def numpy(self) -> np.ndarray:
        """A 0-d NumPy array of floatx, as Keras's `variable.numpy()` gives."""
        return np.asarray(float(self), dtype=config.floatx())

    def __array__(self, dtype=None, copy=None):
        return np.asarray(float(self), dtype=dtype or config.floatx())

    @property
    def value(self) -> torch.Tensor:
        """The rate as a 0-d tensor on the weights' device (CPU before the optimizer is built)."""
        buffer = self._optimizer.buffer
        device = buffer.params.device if buffer is not None else "cpu"
        return torch.tensor(float(self), dtype=config.floatx_dtype(), device=device)

    def item(self) -> float:
        return float(self)

    # ----- writing ---------------------------------------------------------------------------
    def assign(self, value) -> "LearningRate":
        """Set the rate (a float >= 0, or a 0-d tensor / array); used by the next step."""
        if self._snapshot is not None:
            raise TypeError(f"Invalid learning_rate: optimizer '{self._optimizer.name}' uses a "
                            f"schedule ({type(self._optimizer._lr_fn).__name__}), so its rate "
                            f"cannot be assigned {value!r}; create the optimizer with a float "
                            f"learning_rate to make it settable")
        self._optimizer.learning_rate = value
        return self

    def assign_add(self, delta) -> "LearningRate":
        return self.assign(float(self) + to_float("delta", delta))

    def assign_sub(self, delta) -> "LearningRate":
        return self.assign(float(self) - to_float("delta", delta))

    # ----- a number in expressions -------------------------------------------------------------
    def __repr__(self):
        kind = "" if self._snapshot is None else f" (schedule, step {self._optimizer.iterations})"
        return f"<LearningRate of {self._optimizer.name}{kind}: {float(self)!r}>"

    def __format__(self, spec):
        return format(float(self), spec)

    def __bool__(self):
        return float(self) != 0.0

    def __int__(self):
        return int(float(self))

    def __neg__(self):
        return -float(self)

    def __pos__(self):
        return float(self)

    def __abs__(self):
        return abs(float(self))

    def __round__(self, ndigits=None):
        return round(float(self), ndigits)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """torch functions see the rate as its 0-d tensor (`torch.as_tensor(lr)`, ...)."""
        def unwrap(a):
            if isinstance(a, LearningRate):
                return a.value
            return type(a)(unwrap(e) for e in a) if isinstance(a, (list, tuple)) else a

        return func(*unwrap(tuple(args)), **{k: unwrap(v) for k, v in (kwargs or {}).items()})

    __hash__ = None  # compares by value, like a number, so it is not a dict key


def _number(other):
    return float(other) if isinstance(other, LearningRate) else other


def _binary(op):
    def method(self, other):
        return op(float(self), _number(other))

    def reflected(self, other):
        return op(_number(other), float(self))

    return method, reflected


for _name, _op in {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
                   "mul": lambda a, b: a * b, "truediv": lambda a, b: a / b,
                   "floordiv": lambda a, b: a // b, "pow": lambda a, b: a ** b,
                   "mod": lambda a, b: a % b}.items():
    _m, _r = _binary(_op)
    setattr(LearningRate, f"__{_name}__", _m)
    setattr(LearningRate, f"__r{_name}__", _r)
for _name, _op in {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
                   "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
                   "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}.items():
    setattr(LearningRate, f"__{_name}__", _binary(_op)[0])
