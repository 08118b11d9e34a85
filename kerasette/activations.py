"""Activation functions, each a small object with a hand-written backward.

    act = activations.get("tanh")
    y, backward = act.forward(x)     # y = tanh(x), same shape as x
    dx = backward(dy)                # dL/dx = dy * (1 - y^2)

They are shared by the activation layers (`layers.ReLU()`, `layers.Activation("tanh")`, ...) and by
`Dense(activation=...)`. Each is elementwise except softmax (along `axis`). Where the derivative is
cheaper from the output y than from the input x, backward uses y (tanh, sigmoid, elu, softmax).

Names: relu, tanh, sigmoid, softmax, leaky_relu, elu, gelu, softplus, linear.
"""

import math
import numbers

import torch

from . import kernels
from .serialization import Configurable


class ActivationFunction(Configurable):
    """Base class. Subclasses set `name` and implement `forward(x) -> (y, backward)`."""

    name = ""

    def forward(self, x: torch.Tensor):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def forward_fresh(self, x: torch.Tensor):
        """`forward(x)` for an x that nobody else holds (a layer's own fresh matmul or convolution
        output), which it may overwrite: ReLU, tanh and sigmoid run in place, since their backward
        needs only y. Same values, one activation-sized tensor fewer."""
        return self.forward(x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The output only (no backward), as Keras's `keras.activations.relu(x)`. On a symbolic
        tensor (a functional model, a traced call()) it records an Activation node; data that is
        not a tensor (an array, a list) is converted first, floats in floatx."""
        from .graph.symbolic import is_symbolic

        if is_symbolic(x):
            from .layers import Activation
            from .layers.base import mark_operation
            from .ops.elementwise_layers import auto_name

            name = auto_name(self.name) if self.name else None
            return mark_operation(Activation(self, name=name))(x)
        if not isinstance(x, torch.Tensor):
            from .ops.core import float_tensor

            x = float_tensor(x)
        return self.forward(x)[0]

    def get_config(self) -> dict:
        """Constructor arguments (empty for the parameter-free functions)."""
        return {}

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.get_config().items()))))


class Linear(ActivationFunction):
    """y = x (identity).  dx = dy.  Returns x itself, no copy."""

    name = "linear"

    def forward(self, x):
        return x, _identity


class ReLU(ActivationFunction):
    """y = max(x, 0).  dx = dy * [x > 0]  (the derivative at 0 is taken as 0, as in PyTorch)."""

    name = "relu"

    def forward(self, x):
        return self._with_backward(torch.relu(x))

    def forward_fresh(self, x):
        return self._with_backward(x.relu_())

    @staticmethod
    def _with_backward(y):
        def backward(dy):
            return kernels.relu_backward(dy, y)  # dy * [y > 0], one fused pass
        return y, backward


class LeakyReLU(ActivationFunction):
    """y = x if x > 0 else negative_slope * x.  dx = dy if x > 0 else negative_slope * dy.

    The default slope 0.01 is PyTorch's and the seed reports' (Keras's LeakyReLU uses 0.3).
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = _check_real("negative_slope", negative_slope, minimum=0.0)

    def forward(self, x):
        positive = x > 0
        y = torch.where(positive, x, x * self.negative_slope)

        def backward(dy):
            return torch.where(positive, dy, dy * self.negative_slope)
        return y, backward

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class ELU(ActivationFunction):
    """y = x if x > 0 else alpha * (exp(x) - 1).  dx = dy if x > 0 else dy * (y + alpha).

    (For x <= 0, dy/dx = alpha * exp(x) = y + alpha.) exp is only evaluated on min(x, 0), so large
    positive inputs never overflow.
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = _check_real("alpha", alpha)

    def forward(self, x):
        positive = x > 0
        y = torch.where(positive, x, torch.expm1(x.clamp(max=0)) * self.alpha)

        def backward(dy):
            return torch.where(positive, dy, dy * (y + self.alpha))
        return y, backward

    def get_config(self):
        return {"alpha": self.alpha}


class Tanh(ActivationFunction):
    """y = tanh(x).  dx = dy * (1 - y^2)."""

    name = "tanh"

    def forward(self, x):
        return self._with_backward(torch.tanh(x))

    def forward_fresh(self, x):
        return self._with_backward(x.tanh_())

    @staticmethod
    def _with_backward(y):
        def backward(dy):
            return kernels.tanh_backward(dy, y)  # dy * (1 - y^2), one fused pass
        return y, backward


class Sigmoid(ActivationFunction):
    """y = 1 / (1 + exp(-x)).  dx = dy * y * (1 - y).

    `torch.sigmoid` is stable for any finite x (it saturates to exactly 0 or 1 without overflow).
    """

    name = "sigmoid"

    def forward(self, x):
        return self._with_backward(torch.sigmoid(x))

    def forward_fresh(self, x):
        return self._with_backward(x.sigmoid_())

    @staticmethod
    def _with_backward(y):
        def backward(dy):
            return kernels.sigmoid_backward(dy, y)  # dy * y * (1 - y), one fused pass
        return y, backward


class Softmax(ActivationFunction):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m) along `axis`, where m = max_j x_j (for stability).

    Jacobian dy_i/dx_k = y_i (delta_ik - y_k), so dx = y * (dy - sum(dy * y, axis)).
    """

    name = "softmax"

    def __init__(self, axis: int = -1):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Invalid axis: expected an int, received {axis!r}")
        self.axis = int(axis)

    def forward(self, x):
        axis = self.axis
        y = (x - x.amax(dim=axis, keepdim=True)).exp_()
        y = y.div_(y.sum(dim=axis, keepdim=True))

        def backward(dy):
            return y * (dy - (dy * y).sum(dim=axis, keepdim=True))
        return y, backward

    def get_config(self):
        return {"axis": self.axis}


class GELU(ActivationFunction):
    """Exact (erf) GELU: y = x * Phi(x), Phi(x) = (1 + erf(x / sqrt(2))) / 2 the normal CDF.

    dx = dy * (Phi(x) + x * phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) the normal density.
    This is PyTorch's default GELU and Keras's `approximate=False`, not the tanh approximation.
    Phi is computed as erfc(-x / sqrt(2)) / 2, which equals (1 + erf(x / sqrt(2))) / 2 but keeps
    its relative accuracy for very negative x, where 1 + erf(...) would cancel.
    """

    name = "gelu"

    def forward(self, x):
        cdf = torch.erfc(x * -_INV_SQRT2) * 0.5
        y = x * cdf

        def backward(dy):
            pdf = torch.exp(x * x * -0.5) * _INV_SQRT_2PI
            return dy * (cdf + x * pdf)
        return y, backward


class Softplus(ActivationFunction):
    """y = log(1 + exp(x)), computed stably as max(x, 0) + log1p(exp(-|x|)).

    dx = dy * sigmoid(x).
    """

    name = "softplus"

    def forward(self, x):
        y = x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))

        def backward(dy):
            return dy * torch.sigmoid(x)
        return y, backward


_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

_REGISTRY = {cls.name: cls for cls in
             (ReLU, Tanh, Sigmoid, Softmax, LeakyReLU, ELU, GELU, Softplus, Linear)}


def get(identifier) -> ActivationFunction:
    """An activation function from a name (`"relu"`), None (-> linear), an ActivationFunction, or a
    dict `{"class_name": name, "config": {...}}` as written by `serialize`."""
    if identifier is None:
        return Linear()
    if isinstance(identifier, ActivationFunction):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _REGISTRY:  # a registered function ("my_package>squared")
            from .saving import find_custom

            fn = find_custom(identifier)
            if callable(fn):
                return get(fn)
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        if identifier.get("class_name") == "function":
            from .activation_functions import from_config

            return from_config(identifier.get("config", {}))
        return _lookup(identifier.get("class_name"))(**identifier.get("config", {}))
    if callable(identifier) and not isinstance(identifier, type):  # Keras's activation=my_fn
        from .activation_functions import FunctionActivation

        return FunctionActivation(identifier)  # traced into ks.ops nodes (activation_functions.py)
    raise TypeError(f"Invalid activation: expected a string, None, an ActivationFunction or a "
                    f"function of ks.ops, received {type(identifier).__name__}")


def serialize(activation: ActivationFunction) -> str | dict:
    """The name string when the function has its default arguments, else a `get`-able dict."""
    activation = get(activation)
    config = activation.get_config()
    if "function" in config:  # a function of ks.ops (activation_functions.py)
        return {"class_name": "function", "config": config}
    if config == type(activation)().get_config():
        return activation.name
    return {"class_name": activation.name, "config": config}


def _lookup(name):
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ValueError(f"Unknown activation: {name!r}; expected one of {sorted(_REGISTRY)}")
    return cls


def _identity(dy):
    return dy


def _check_real(arg: str, value, minimum: float | None = None) -> float:
    """`value` as a float; TypeError if it is not a real number, ValueError if not finite or below
    `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {arg}: expected a float, received {value!r}")
    value = float(value)
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"Invalid {arg}: expected a finite float{bound}, received {value!r}")
    return value


# Shared default instances: activation functions hold no state besides their constructor arguments.
relu, tanh, sigmoid, softmax = ReLU(), Tanh(), Sigmoid(), Softmax()
leaky_relu, elu, gelu, softplus, linear = LeakyReLU(), ELU(), GELU(), Softplus(), Linear()
