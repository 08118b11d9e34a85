"""The metric protocol and the running mean every simple metric is built on.

A metric keeps running sums as tensors on the device of the data it sees, so updating it never
waits for the device (no `.item()`, `.cpu()` or `bool(tensor)`); only `result()` followed by the
caller's `.item()` reads a number back.

    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=None)   # a few tensor ops per batch
    m.result()                                            # 0-d tensor on the data's device

Accumulators are allocated lazily on the first update after a reset, with the device of `y_pred`
and a float dtype chosen from it (float64 stays float64; float16/bfloat16 accumulate in float32;
integer inputs use `config.floatx()`), unless a `dtype` is given to the constructor.
"""

import re

import numpy as np
import torch

from .. import config

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
    return torch.where(den != 0, num / den, torch.zeros((), dtype=num.dtype, device=num.device))


class Metric:
    """Base class: a named streaming statistic with tensor accumulators.

    Subclasses implement `update_state`, `result`, and `_reset_accumulators` (called by
    `reset_state`), and extend `get_config` with their constructor arguments.
    """

    def __init__(self, name: str | None = None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Invalid name: expected a string, received {type(name).__name__}")
        self.name = name if name is not None else _snake(type(self).__name__)
        self.dtype = _parse_dtype(dtype)
        self.reset_state()

    def reset_state(self) -> None:
        """Forget everything seen; accumulators are re-allocated on the next update."""
        self._reset_accumulators()

    def _reset_accumulators(self) -> None:
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        raise NotImplementedError

    def result(self) -> torch.Tensor:
        raise NotImplementedError

    def _empty_result(self) -> torch.Tensor:
        """The result before any update: 0.0 on the CPU (no device has been seen yet)."""
        return torch.zeros((), dtype=self.dtype or config.floatx_dtype())

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": _dtype_name(self.dtype)}

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

    State: `total` (tensor), the sample count from unweighted / number-weighted updates (a Python
    float: it comes from shapes, so it costs no device op), and the sum of tensor weights (a tensor,
    allocated only when one is given).
    """

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _reset_accumulators(self) -> None:
        self._total = None
        self._count = 0.0
        self._weight_sum = None

    def _prepare(self, x: torch.Tensor) -> torch.dtype:
        """Allocate (or move) the running total for x's device; return the accumulator dtype."""
        if self._total is None:
            self._total = torch.zeros((), dtype=accumulator_dtype(x, self.dtype), device=x.device)
        elif self._total.device != x.device:
            self._total = self._total.to(x.device)
            if self._weight_sum is not None:
                self._weight_sum = self._weight_sum.to(x.device)
        return self._total.dtype

    def update_state(self, values, sample_weight=None) -> None:
        total = self._total
        if (type(sample_weight) in (int, float) and isinstance(values, torch.Tensor)
                and values.dim() == 0 and total is not None and values.device == total.device):
            # fast path for the model's loss tracker (a 0-d batch loss weighted by the batch size),
            # one kernel; `_accumulate` below is the general twin and gives the same sums
            total.add_(values, alpha=sample_weight)
            self._count += sample_weight
            return
        if not isinstance(values, torch.Tensor):
            values = to_tensor(values, total.device if total is not None else None)
        self._accumulate(values, sample_weight)

    def _accumulate(self, values: torch.Tensor, sample_weight) -> None:
        dtype = self._prepare(values)
        if sample_weight is not None and not is_number(sample_weight):
            n = values.shape[0] if values.dim() > 0 else 1
            w = sample_weights(sample_weight, n, values.device, dtype)
        v = values if values.dim() == 0 else per_sample(values)
        n = v.numel()
        if sample_weight is None:
            self._total.add_(v if v.dim() == 0 else v.sum())
            self._count += n
        elif is_number(sample_weight):
            self._total.add_(v if v.dim() == 0 else v.sum(), alpha=float(sample_weight))
            self._count += float(sample_weight) * n
        else:
            v = v.to(dtype)
            self._total.add_((v * w).sum() if w.dim() == 0 or v.dim() == 0 else torch.dot(v, w))
            ws = w * n if w.dim() == 0 else w.sum()
            if self._weight_sum is None:
                self._weight_sum = ws.clone()
            else:
                self._weight_sum.add_(ws)

    def result(self) -> torch.Tensor:
        if self._total is None:
            return self._empty_result()
        if self._weight_sum is None:
            if self._count == 0:
                return torch.zeros_like(self._total)
            return self._total / self._count
        return div_no_nan(self._total, self._weight_sum + self._count)


class MeanMetricWrapper(Mean):
    """Mean over samples of a per-sample function: result = sum_i w_i f(y_true, y_pred)_i / sum w_i.

    `fn(y_true, y_pred, **kwargs)` returns one value per sample, shape (N,).
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
            values = values.to(accumulator_dtype(values, self.dtype))
        self._accumulate(values, sample_weight)

    def get_config(self) -> dict:
        cfg = super().get_config()
        if type(self) is MeanMetricWrapper:
            cfg["fn"] = getattr(self._fn, "__name__", repr(self._fn))
        return {**cfg, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config_: dict):
        if cls is MeanMetricWrapper:
            raise ValueError("MeanMetricWrapper needs its function: use "
                             "kerasette.metrics.deserialize(config, custom_objects={name: fn})")
        return cls(**config_)
