"""Activation layers: thin wrappers around the functions in `kerasette.activations`.

Each layer has no weights; `layer.activation` is the function object (the model looks at it to
fuse a final sigmoid/softmax with a cross-entropy loss). Forward and backward are the function's:

    y, backward = layer.forward(x)       # y = f(x)
    dx = backward(dy)                    # dx = f'(x) * dy  (softmax: y * (dy - sum(dy * y)))
"""

from .. import activations
from .base import Layer


class Activation(Layer):
    """Applies `activation` (a name such as "relu", None for linear, or an activation object)."""

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    def __init__(self, activation, **kwargs):
        act = activations.get(activation)
        super().__init__(**kwargs)
        self.activation = act

    def forward(self, x, training=False):
        return self.activation.forward(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Activation):
    """y = max(x, 0)."""

    def __init__(self, **kwargs):
        super().__init__(activations.ReLU(), **kwargs)

    def get_config(self) -> dict:
        return Layer.get_config(self)


class LeakyReLU(Activation):
    """y = x if x > 0 else negative_slope * x (default slope 0.01, PyTorch's; Keras's is 0.3)."""

    def __init__(self, negative_slope: float = 0.01, **kwargs):
        super().__init__(activations.LeakyReLU(negative_slope), **kwargs)

    def get_config(self) -> dict:
        return {**Layer.get_config(self), "negative_slope": self.activation.negative_slope}


class ELU(Activation):
    """y = x if x > 0 else alpha * (exp(x) - 1)."""

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(activations.ELU(alpha), **kwargs)

    def get_config(self) -> dict:
        return {**Layer.get_config(self), "alpha": self.activation.alpha}


class Tanh(Activation):
    """y = tanh(x)."""

    def __init__(self, **kwargs):
        super().__init__(activations.Tanh(), **kwargs)

    def get_config(self) -> dict:
        return Layer.get_config(self)


class Sigmoid(Activation):
    """y = 1 / (1 + exp(-x))."""

    def __init__(self, **kwargs):
        super().__init__(activations.Sigmoid(), **kwargs)

    def get_config(self) -> dict:
        return Layer.get_config(self)


class Softmax(Activation):
    """y = exp(x - max) / sum(exp(x - max)) along `axis`."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(activations.Softmax(axis), **kwargs)

    def get_config(self) -> dict:
        return {**Layer.get_config(self), "axis": self.activation.axis}


class GELU(Activation):
    """Exact GELU, y = x * Phi(x) with Phi the standard normal CDF (erf form)."""

    def __init__(self, **kwargs):
        super().__init__(activations.GELU(), **kwargs)

    def get_config(self) -> dict:
        return Layer.get_config(self)


class Softplus(Activation):
    """y = log(1 + exp(x)), computed stably."""

    def __init__(self, **kwargs):
        super().__init__(activations.Softplus(), **kwargs)

    def get_config(self) -> dict:
        return Layer.get_config(self)
