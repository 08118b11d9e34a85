"""`Rescaling(scale, offset=0.0)`: Keras's preprocessing layer, e.g. `Rescaling(1 / 255)` in front of
an image model.

    y = x * scale + offset          dx = dy * scale

`scale` and `offset` are numbers, or sequences that broadcast against the last axis (one per
channel, channels_last). Integer input (uint8 pixels) becomes floatx first, as in Keras; it then has
no gradient to receive, and the layer has no weights.
"""

import numbers

import torch

from .. import config
from .base import Layer


def _factor(value, name: str):
    """A number, or a flat sequence of numbers, kept as given (for get_config)."""
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) or (
            isinstance(value, (list, tuple)) and value and all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value))):
        raise ValueError(f"Invalid {name}: expected a number or a non-empty list of numbers (one "
                         f"per channel), received {value!r}")
    return float(value) if isinstance(value, numbers.Real) else [float(v) for v in value]


class Rescaling(Layer):
    """y = x * scale + offset (see the module docstring)."""

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _factor(scale, "scale")
        self.offset = _factor(offset, "offset")

    def forward(self, x, training=False):
        if not x.is_floating_point():
            x = x.to(config.floatx_dtype())
        scale = torch.as_tensor(self.scale, dtype=x.dtype, device=x.device)
        offset = torch.as_tensor(self.offset, dtype=x.dtype, device=x.device)
        return x * scale + offset, lambda dy: dy * scale

    def build(self, input_shape) -> None:
        channels = tuple(input_shape)[-1] if len(input_shape) > 1 else None
        for name, value in (("scale", self.scale), ("offset", self.offset)):
            if isinstance(value, list) and channels is not None and len(value) not in (1, channels):
                raise ValueError(f"Invalid {name}: {len(value)} values for inputs with {channels} "
                                 f"channels (the last axis); give one per channel or a number")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
