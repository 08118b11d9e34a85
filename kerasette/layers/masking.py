"""`Masking(mask_value=0.0)`: mark as padding every step whose features all equal mask_value.

Shapes: x (N, T, F) -> y (N, T, F) and the mask (N, T) (kerasette/layers/mask_protocol.py).

    forward                                  backward (given dy = dL/dy)
    keep[n, t] = any_f (x[n, t, f] != v)     dx = dy * keep       (keep is constant in x almost
    y = x * keep                             everywhere: it only changes where x equals v exactly)
    mask = keep

As in Keras, the padded steps' values are zeroed too, so a layer that ignores masks sees zeros there.

Also here: Keras's explicit mask argument, `layer(x, mask=m)` (`call_with_mask`, `SetMaskOp`).
"""

import numbers

import numpy as np
import torch

from .base import Layer, Operation


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


class SetMaskOp(Operation):
    """y = x, its Keras mask given as a tensor: what `layer(x, mask=m)` records on symbolic tensors
    (node inputs [x, m]; m (N, T), nonzero = real). dx = dy; m gets no gradient."""

    @property
    def makes_mask(self) -> bool:
        return True

    def forward(self, x, training=False):
        return x[0], lambda dy: (dy, None)

    def compute_mask(self, x, mask=None):
        return x[1].to(torch.bool)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


def call_with_mask(layer, x, mask, training):
    """`layer(x, mask=m)` (Keras's explicit mask argument): on symbolic tensors the mask rides on
    x through a SetMaskOp node; on data the layer runs `forward_masked` once."""
    from ..graph.symbolic import is_symbolic

    if is_symbolic(x) or is_symbolic(mask):
        if not (is_symbolic(x) and is_symbolic(mask)):
            raise TypeError(f"Invalid mask: layer '{layer.name}' was called on a "
                            f"{'symbolic' if is_symbolic(x) else 'data'} input with a "
                            f"{type(mask).__name__} mask; give both as symbolic tensors (a mask "
                            f"computed with ks.ops from a ks.Input) or both as data")
        return layer(SetMaskOp()([x, mask]), training=training)
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"Invalid input: layer '{layer.name}' takes an explicit mask with one "
                        f"tensor input, received {type(x).__name__}")
    m = torch.as_tensor(mask)
    if tuple(m.shape) != tuple(x.shape[:m.dim()]) or m.dim() >= x.dim():
        raise ValueError(f"Invalid mask: layer '{layer.name}' expects a mask of the input's "
                         f"leading shape without its feature axis, {tuple(x.shape[:-1])}, "
                         f"received {tuple(m.shape)}")
    layer._maybe_build(tuple(x.shape))
    x = layer._cast(x)
    return layer.forward_masked(x, training, m.to(device=x.device, dtype=torch.bool))[0]
