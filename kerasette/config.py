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


_DATA_FORMATS = ("channels_last", "channels_first")
_state["image_data_format"] = "channels_last"


def image_data_format() -> str:
    """Default layout of image tensors for layers with a `data_format` argument ("channels_last",
    Keras's default: (batch, height, width, channels))."""
    return _state["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    """Set the default image layout: "channels_last" or "channels_first"."""
    value = data_format.lower() if isinstance(data_format, str) else data_format
    if value not in _DATA_FORMATS:
        raise ValueError(f"Invalid data_format: expected one of {list(_DATA_FORMATS)}, received "
                         f"{data_format!r}")
    _state["image_data_format"] = value
