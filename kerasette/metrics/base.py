"""The metric protocol (Keras 3's `Metric`), and the running mean and sum simple metrics build on.

A metric keeps its state in variables (`add_variable`): tensors on the device of the data it sees,
updated in place, so updating never waits for the device (no `.item()`, `.cpu()` or
`bool(tensor)`); only `result()` followed by the caller's `.item()` reads a number back.

    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=None)   # a few tensor ops per batch
    m.result()                                            # a fresh tensor on the data's device

Writing one (Keras's guide; the same code runs in `model.compile(metrics=[...])`):

    class BinaryTruePositives(ks.metrics.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

        def update_state(self, y_true, y_pred, sample_weight=None):
            values = (y_true.bool() & (y_pred > 0.5)).to(self.dtype)
            if sample_weight is not None:
                values = values * torch.as_tensor(sample_weight, dtype=self.dtype).reshape(-1, 1)
            self.true_positives.assign_add(values.sum())

        def result(self):
            return self.true_positives      # a variable is returned as a copy of its value

`reset_state()` puts every variable back to its initializer's value (zeros unless given).

Data parallelism: every built-in metric's variables are sums over samples (aggregation "sum"), so
the state of several processes combines by adding the variables; each class's docstring names
them.

Dtypes: the variables of a metric built with `dtype=None` follow the data (the first update after a
reset converts them): float64 inputs accumulate in float64, float16 / bfloat16 in float32, and
integer inputs in `config.floatx()`; `dtype="float64"` fixes it. `metric.dtype` is that fixed dtype
or floatx. Before any update the variables are on the CPU.
"""

import functools
import re

import numpy as np
import torch

from .. import config
from .positions import accumulate_positions, per_position
from .variable import MetricVariable, parse_variable_dtype

_FLOAT_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16,
                 "float32": torch.float32, "float64": torch.float64}


def _parse_dtype(dtype):
    """None, a float dtype name or a torch float dtype -> torch dtype or None."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in _FLOAT_DTYPES:
        return _FLOAT_DTYPES[dtype]
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    raise ValueError(f"Invalid dtype: expected None or one of {sorted(_FLOAT_DTYPES)}, "
                     f"received {dtype!r}")


def _dtype_name(dtype) -> str | None:
    return None if dtype is None else str(dtype).removeprefix("torch.")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower()


def to_tensor(x, device=None) -> torch.Tensor:
    """Tensor, NumPy array, list or number -> tensor on `device` (no copy when already there)."""
    if isinstance(x, torch.Tensor):
        return x if device is None or x.device == device else x.to(device)
    if isinstance(x, np.ndarray | list | tuple | int | float | np.generic):
        return torch.as_tensor(np.asarray(x), device=device)
    raise TypeError(f"Invalid input: expected a tensor, array or number, "
                    f"received {type(x).__name__}")


def accumulator_dtype(x: torch.Tensor, forced=None) -> torch.dtype:
    """Float dtype to accumulate `x` in: `forced` if set, x's own float32/float64, else float32
    for half types (sums of many halves lose precision) and floatx for integer/bool inputs."""
    if forced is not None:
        return forced
    dt = x.dtype if x.is_floating_point() else config.floatx_dtype()
    return torch.float32 if dt in (torch.float16, torch.bfloat16) else dt


def align(y_true: torch.Tensor, y_pred: torch.Tensor, what: str = "y_true"):
    """Make y_true and y_pred the same shape, as Keras's `squeeze_or_expand_to_same_rank`: a
    trailing axis of size 1 on the one with one more axis is dropped ((N,) vs (N, 1) -> (N,)), so
    the pair never broadcasts to (N, N). Any other mismatch is a ValueError."""
    if y_true.dim() == y_pred.dim() + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    elif y_pred.dim() == y_true.dim() + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.squeeze(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Invalid {what}: expected the shape of y_pred {tuple(y_pred.shape)} "
                         f"(or with a trailing axis of 1), received {tuple(y_true.shape)}")
    return y_true, y_pred


def per_sample(x: torch.Tensor) -> torch.Tensor:
    """(N, ...) -> (N,): the mean over every axis but the first (a 0-d value is one sample)."""
    if x.dim() == 0:
        return x.reshape(1)
    return x if x.dim() == 1 else x.flatten(1).mean(1)


def sample_weights(sample_weight, n: int, device, dtype) -> torch.Tensor:
    """A per-sample weight tensor of shape (n,) or () from a tensor/array of shape (), (n,) or
    (n, 1); anything else is a ValueError (checked on shapes only, no device sync)."""
    w = to_tensor(sample_weight, device)
    if w.dtype != dtype:
        w = w.to(dtype)
    if w.dim() == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if not (w.dim() == 0 or (w.dim() == 1 and w.shape[0] == n)):
        raise ValueError(f"Invalid sample_weight: expected a scalar or shape ({n},) or ({n}, 1), "
                         f"received shape {tuple(w.shape)}")
    return w


def is_number(x) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def div_no_nan(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, and 0 where den == 0 (Keras's `divide_no_nan`), with no device sync."""
    return torch.where(den != 0, num / den, 0.0)


class Metric:
    """Base class: a named streaming statistic whose state is a list of variables.

    Subclasses create their state with `add_variable` in `__init__` (or on the first update, when
    a shape depends on the data) and implement `update_state` and `result`; they extend
    `get_config` with their constructor arguments.
    """

    def __init__(self, name: str | None = None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Invalid name: expected a string, received {type(name).__name__}")
        self.name = name if name is not None else _snake(type(self).__name__)
        self._forced_dtype = _parse_dtype(dtype)
        self._variables: list[MetricVariable] = []
        self._fresh = True  # no update since the last reset: variables may still change dtype

    def __init_subclass__(cls, **kwargs):
        """Every `result` gives a new tensor: a variable returned by a subclass (as Keras's guide
        writes) is copied, so a logged result never changes with later updates."""
        super().__init_subclass__(**kwargs)
        if "result" in cls.__dict__:
            raw = cls.__dict__["result"]

            @functools.wraps(raw)
            def result(self):
                return self._as_result(raw(self))

            cls.result = result

    @property
    def dtype(self) -> torch.dtype:
        """The dtype fixed by the constructor, else `config.floatx()`'s (Keras's default)."""
        return self._forced_dtype or config.floatx_dtype()

    # ----- state -------------------------------------------------------------------------------
    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum",
                     name=None) -> MetricVariable:
        """Create and register a state variable (Keras 3 signature). Returns a MetricVariable
        with `.assign`, `.assign_add`, `.numpy()` and tensor arithmetic."""
        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() in __init__ "
                               f"before add_variable")
        dtype = parse_variable_dtype(dtype)
        follows = dtype is None and self._forced_dtype is None
        variable = MetricVariable(shape, initializer, dtype or self.dtype, name, aggregation,
                                  follows_data=follows)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None) -> MetricVariable:
        """Keras's other spelling of `add_variable` (initializer None means zeros)."""
        return self.add_variable(shape, initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[MetricVariable]:
        return list(self._variables)

    def reset_state(self) -> None:
        """Every variable back to its initializer's value (in place, on its device)."""
        for variable in self._variables:
            variable.reset()
        self._fresh = True

    def _prepare(self, like: torch.Tensor) -> torch.dtype:
        """For the built-in metrics: put the state on `like`'s device and, on the first update
        after a reset, in the float dtype suited to `like` (see the module docstring). Returns
        the dtype to accumulate in."""
        if self._fresh:
            self._acc_dtype = accumulator_dtype(like, self._forced_dtype)
            for variable in self._variables:
                variable._retarget(like.device, self._acc_dtype if variable._follows_data
                                   else variable.dtype)
            self._fresh = False
        else:
            for variable in self._variables:
                if variable.device != like.device:
                    variable._retarget(like.device, variable.dtype)
        return self._acc_dtype

    def _as_result(self, value) -> torch.Tensor:
        if isinstance(value, MetricVariable):
            return value.value.clone()
        if isinstance(value, torch.Tensor):
            if any(value is v.value for v in self._variables):
                return value.clone()
            return value
        return torch.as_tensor(value, dtype=self.dtype)

    # ----- what a subclass writes ---------------------------------------------------------------
    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def result(self) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": _dtype_name(self._forced_dtype)}

    @classmethod
    def from_config(cls, config_: dict):
        return cls(**config_)

    def __call__(self, *args, **kwargs) -> torch.Tensor:
        """Update with one batch and return the running result (Keras's `m(y_true, y_pred)`)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """Running (weighted) mean of values: result = sum_i w_i v_i / sum_i w_i (unweighted: w_i = 1).

    `update_state(values, sample_weight=None)`: `values` of shape (N, ...) are first reduced to one
    value per sample (mean over the other axes); a 0-d value is one sample. `sample_weight` is a
    Python number (same weight for every sample, e.g. the batch size when averaging batch losses),
    or a tensor of shape (), (N,) or (N, 1). With no update, or a zero total weight, the result
    is 0.

    State (sums): `total` = sum_i w_i v_i and `count` = sum_i w_i.
    """

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")
        self._positive_count = True

    def update_state(self, values, sample_weight=None) -> None:
        total = self.total.value
        if (type(sample_weight) in (int, float) and isinstance(values, torch.Tensor)
                and values.dim() == 0 and not self._fresh and values.device == total.device):
            # fast path for a 0-d batch value weighted by the batch size: two adds;
            # `_accumulate` below is the general twin and gives the same sums
            total.add_(values, alpha=sample_weight)
            self.count.value.add_(sample_weight)
            self._positive_count &= sample_weight > 0
            return
        if not isinstance(values, torch.Tensor):
            values = to_tensor(values, None if self._fresh else total.device)
        self._accumulate(values, sample_weight)

    def _accumulate(self, values: torch.Tensor, sample_weight) -> None:
        if per_position(sample_weight):  # a Keras mask on a sequence output
            return accumulate_positions(self, values, sample_weight)
        w = None
        if sample_weight is not None and not is_number(sample_weight):
            n = values.shape[0] if values.dim() > 0 else 1
            w = sample_weights(sample_weight, n, values.device,
                               accumulator_dtype(values, self._forced_dtype))
        dtype = self._prepare(values)
        total, count = self.total.value, self.count.value
        v = values if values.dim() == 0 else per_sample(values)
        n = v.numel()
        self._positive_count &= n > 0 and (sample_weight is None or (
            w is None and float(sample_weight) > 0))
        if sample_weight is None:
            total.add_(v if v.dim() == 0 else v.sum())
            count.add_(n)
        elif w is None:  # a number
            total.add_(v if v.dim() == 0 else v.sum(), alpha=float(sample_weight))
            count.add_(float(sample_weight) * n)
        else:
            v, w = v.to(dtype), w.to(dtype)
            total.add_((v * w).sum() if w.dim() == 0 or v.dim() == 0 else torch.dot(v, w))
            count.add_(w * n if w.dim() == 0 else w.sum())

    def reset_state(self) -> None:
        super().reset_state()
        # True while every update surely added to `count` (samples, positive number weights):
        # result() is then one division; a Python flag, so result() never reads the device
        self._positive_count = True

    def result(self) -> torch.Tensor:
        total, count = self.total.value, self.count.value
        if self._fresh:
            return torch.zeros_like(total)
        if self._positive_count:
            return total / count
        return div_no_nan(total, count)


class Sum(Metric):
    """Running (weighted) sum of values: result = sum_i w_i s_i, s_i the sum of sample i's values
    (unweighted: the sum of everything seen). `update_state(values, sample_weight=None)` takes
    the weights as `Mean` does.

    State (a sum): `total`.
    """

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None) -> None:
        if not isinstance(values, torch.Tensor):
            values = to_tensor(values, None if self._fresh else self.total.device)
        w = None
        if sample_weight is not None and not is_number(sample_weight):
            n = values.shape[0] if values.dim() > 0 else 1
            w = sample_weights(sample_weight, n, values.device,
                               accumulator_dtype(values, self._forced_dtype))
        dtype = self._prepare(values)
        total = self.total.value
        if sample_weight is None:
            total.add_(values.sum().to(dtype))
        elif w is None:
            total.add_(values.sum().to(dtype), alpha=float(sample_weight))
        else:
            s = values.to(dtype).reshape(values.shape[0] if values.dim() else 1, -1).sum(1)
            total.add_((s * w.to(dtype)).sum())

    def result(self) -> torch.Tensor:
        return self.total.value.clone()


class MeanMetricWrapper(Mean):
    """Mean over samples of a per-sample function: result = sum_i w_i f(y_true, y_pred)_i / sum w_i.

    `fn(y_true, y_pred, **kwargs)` returns one value per sample, shape (N,) (or (N, ...), averaged
    per sample). State: Mean's `total` and `count` (sums).
    """

    def __init__(self, fn, name: str | None = None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"Invalid fn: expected a callable, received {type(fn).__name__}")
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name if name is not None else getattr(fn, "__name__", "mean"),
                         dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = to_tensor(y_pred)
        y_true = to_tensor(y_true, y_pred.device)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if not isinstance(values, torch.Tensor):
            values = torch.as_tensor(values, device=y_pred.device)
        if not values.is_floating_point():
            values = values.to(accumulator_dtype(values, self._forced_dtype))
        self._accumulate(values, sample_weight)

    def get_config(self) -> dict:
        cfg = super().get_config()
        if type(self) is MeanMetricWrapper:
            from ..saving import _NAMES

            cfg["fn"] = _NAMES.get(self._fn) or getattr(self._fn, "__name__", repr(self._fn))
        return {**cfg, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config_: dict):
        if cls is MeanMetricWrapper:
            raise ValueError("MeanMetricWrapper needs its function: use "
                             "kerasette.metrics.deserialize(config, custom_objects={name: fn})")
        return cls(**config_)
