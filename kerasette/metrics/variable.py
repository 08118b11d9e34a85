"""MetricVariable: one tensor of a metric's state, as Keras 3's metric variables behave.

    self.tp = self.add_variable(shape=(), initializer="zeros", name="tp")   # in Metric.__init__
    self.tp.assign_add(values.sum())        # in update_state: in place, no device sync
    self.tp.assign(0.0)
    self.tp.numpy(), float(self.tp), self.tp.value      # the value (numpy / float read it back)
    self.tp / self.count, torch.sqrt(self.tp)           # tensor arithmetic on the value

The value lives where the data is: the tensor starts on the CPU and moves (once) to the device of
the first tensor given to `assign` / `assign_add` from another device, so a metric's state stays
on the model's GPU and updating it never waits for the device. `aggregation` says how the state
of several data-parallel processes combines (Keras's argument; "sum" for every built-in metric).
"""

import numpy as np
import torch

from .. import config
from .. import initializers as inits

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
           "float64": torch.float64, "int32": torch.int32, "int64": torch.int64,
           "bool": torch.bool}
_AGGREGATIONS = ("sum", "mean", "only_first_replica", "none")


def parse_variable_dtype(dtype) -> torch.dtype | None:
    """None, a dtype name ("float32", "int32", ...) or a torch dtype -> torch dtype or None."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in _DTYPES:
        return _DTYPES[dtype.removeprefix("torch.")]
    raise ValueError(f"Invalid dtype: expected None, a torch dtype or one of {sorted(_DTYPES)}, "
                     f"received {dtype!r}")


def _unwrap(x):
    if isinstance(x, MetricVariable):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


class MetricVariable:
    """A named state tensor of a metric, created by `Metric.add_variable` (not directly)."""

    def __init__(self, shape, initializer="zeros", dtype=None, name=None, aggregation="sum",
                 follows_data=False):
        if isinstance(shape, int):
            shape = (shape,)
        if not isinstance(shape, (tuple, list, torch.Size)) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"Invalid shape: expected a tuple of ints >= 0, received {shape!r}")
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"Invalid aggregation: expected one of {list(_AGGREGATIONS)}, "
                             f"received {aggregation!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Invalid name: expected a string, received {type(name).__name__}")
        self.name = name or "variable"
        self.aggregation = aggregation
        self._initializer = inits.get("zeros" if initializer is None else initializer)
        dtype = parse_variable_dtype(dtype) or config.floatx_dtype()
        self._follows_data = follows_data  # a built-in metric may switch it to the data's dtype
        self._value = self._initial(tuple(shape), dtype, torch.device("cpu"))

    def _initial(self, shape, dtype, device) -> torch.Tensor:
        init = self._initializer
        if isinstance(init, inits.Constant):  # zeros, ones, constant: made on the device directly
            return torch.full(shape, init.value, dtype=dtype, device=device)
        value = init(shape, dtype if dtype.is_floating_point else config.floatx_dtype())
        return value.to(device=device, dtype=dtype)

    # ----- reading -----------------------------------------------------------------------------
    @property
    def value(self) -> torch.Tensor:
        """The state tensor itself (updated in place by assign / assign_add)."""
        return self._value

    @property
    def shape(self) -> tuple:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> torch.dtype:
        return self._value.dtype

    @property
    def device(self) -> torch.device:
        return self._value.device

    def numpy(self) -> np.ndarray:
        return self._value.detach().cpu().numpy()

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __len__(self):
        return len(self._value)

    def __repr__(self):
        return f"<MetricVariable name={self.name!r} shape={self.shape} dtype={self.dtype}>"

    # ----- writing (in place, on the value's device) -------------------------------------------
    def _follow(self, other) -> torch.Tensor | float:
        """`other` ready to combine with the value; a tensor from another device moves the
        variable there first (its state follows the data)."""
        if isinstance(other, MetricVariable):
            other = other.value
        if isinstance(other, torch.Tensor):
            if other.device != self._value.device:
                self._value = self._value.to(other.device)
            return other if other.dtype == self._value.dtype else other.to(self._value.dtype)
        if isinstance(other, (np.ndarray, np.generic, list, tuple)):
            return torch.as_tensor(np.asarray(other), dtype=self._value.dtype,
                                   device=self._value.device)
        return other

    def assign(self, value) -> "MetricVariable":
        value = self._follow(value)
        if isinstance(value, torch.Tensor):
            self._value.copy_(value)
        else:
            self._value.fill_(value)
        return self

    def assign_add(self, delta) -> "MetricVariable":
        self._value.add_(self._follow(delta))
        return self

    def assign_sub(self, delta) -> "MetricVariable":
        self._value.sub_(self._follow(delta))
        return self

    def reset(self) -> None:
        """Back to the initializer's value, in place, on the current device."""
        init = self._initializer
        if isinstance(init, inits.Constant):
            self._value.fill_(init.value)
        else:
            self._value.copy_(self._initial(self.shape, self.dtype, torch.device("cpu")))

    def _retarget(self, device, dtype) -> None:
        if self._value.device != device or self._value.dtype != dtype:
            self._value = self._value.to(device=device, dtype=dtype)

    # ----- arithmetic: on the value, giving tensors ---------------------------------------------
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*_unwrap(tuple(args)), **{k: _unwrap(v) for k, v in (kwargs or {}).items()})

    def __getitem__(self, index):
        return self._value[index]

    def __neg__(self):
        return -self._value

    def __abs__(self):
        return self._value.abs()


def _binary(name):
    def op(self, other):
        return getattr(self._value, name)(_unwrap(other))
    op.__name__ = name
    return op


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__floordiv__", "__pow__", "__rpow__", "__matmul__", "__lt__",
              "__le__", "__gt__", "__ge__"):
    setattr(MetricVariable, _name, _binary(_name))
