"""Global numeric settings: the default float type and the fuzz factor used by losses.

`set_floatx("float64")` makes every weight created afterwards float64; the gradient checks use it.
"""

import torch

_FLOATX = {"float16": torch.float16, "bfloat16": torch.bfloat16,
           "float32": torch.float32, "float64": torch.float64}
_state = {"floatx": "float32", "epsilon": 1e-7}


def floatx() -> str:
    """Name of the default float type for new weights ("float32" unless changed)."""
    return _state["floatx"]


def set_floatx(value: str) -> None:
    """Set the default float type for new weights: one of float16, bfloat16, float32, float64."""
    if value not in _FLOATX:
        raise ValueError(f"Invalid floatx: expected one of {sorted(_FLOATX)}, received {value!r}")
    _state["floatx"] = value


def floatx_dtype() -> torch.dtype:
    """The torch dtype matching `floatx()`."""
    return _FLOATX[_state["floatx"]]


def epsilon() -> float:
    """Fuzz factor (1e-7, as in Keras): probabilities are clipped to [eps, 1 - eps]."""
    return _state["epsilon"]


def set_epsilon(value: float) -> None:
    """Set the fuzz factor; it must be a positive float."""
    if not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"Invalid epsilon: expected a positive float, received {value!r}")
    _state["epsilon"] = float(value)
