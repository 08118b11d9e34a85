"""`Input`: a marker for the per-sample input shape, so a Sequential model can build before data.

    model = ks.Sequential([ks.Input(shape=(2,)), ks.layers.Dense(1)])

`Input(shape)` returns an `InputLayer`; its forward is the identity (y = x, dx = dy).
"""

import numbers

from .base import Layer


class InputLayer(Layer):
    """Identity layer that knows the per-sample input shape `shape` (batch dimension excluded).

    It is built at construction, so calling it on data of another per-sample shape raises.
    """

    def __init__(self, shape, name: str | None = None):
        shape = _check_shape(shape)
        super().__init__(name=name)
        self.shape = shape
        self.input_spec = shape
        self.built = True

    def forward(self, x, training=False):
        return x, _identity

    def compute_output_shape(self, input_shape=None) -> tuple:
        batch = None if input_shape is None else input_shape[0]
        return (batch, *self.shape)

    def get_config(self) -> dict:
        return {"shape": self.shape, "name": self.name}


def Input(shape, name: str | None = None) -> InputLayer:
    """An `InputLayer` for samples of `shape` (positive ints, batch dimension excluded)."""
    return InputLayer(shape, name=name)


def _check_shape(shape) -> tuple:
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(f"Invalid shape: expected a tuple of positive ints (batch dimension "
                         f"excluded), e.g. (2,), received {shape!r}")
    return tuple(int(d) for d in shape)


def _identity(dy):
    return dy
