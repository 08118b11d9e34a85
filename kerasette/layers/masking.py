"""`Masking(mask_value=0.0)`: mark as padding every step whose features all equal mask_value.

Shapes: x (N, T, F) -> y (N, T, F) and the mask (N, T) (kerasette/layers/mask_protocol.py).

    forward                                  backward (given dy = dL/dy)
    keep[n, t] = any_f (x[n, t, f] != v)     dx = dy * keep       (keep is constant in x almost
    y = x * keep                             everywhere: it only changes where x equals v exactly)
    mask = keep

As in Keras, the padded steps' values are zeroed too, so a layer that ignores masks sees zeros there.
"""

import numbers

import torch

from .base import Layer


class Masking(Layer):
    """Keras's `Masking` layer: steps equal to `mask_value` in every feature are skipped by the
    mask-aware layers after it (recurrent layers, GlobalAveragePooling1D, the loss)."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Real):
            raise TypeError(f"Invalid mask_value: expected a number, received {mask_value!r}")
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    @property
    def makes_mask(self) -> bool:
        return True

    def _keep(self, x: torch.Tensor) -> torch.Tensor:
        return (x != self.mask_value).any(dim=-1)

    def forward(self, x, training=False):
        keep = self._keep(x).unsqueeze(-1).to(x.dtype)
        y = x * keep

        def backward(dy, need_dx=True):
            return dy * keep
        return y, backward

    def compute_mask(self, x, mask=None):
        return self._keep(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
