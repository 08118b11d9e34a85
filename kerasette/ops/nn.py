"""`ks.ops` neural-network ops (Keras 3.16: keras/src/ops/nn.py): relu, sigmoid, softmax,
log_softmax, one_hot. On symbolic tensors relu, sigmoid and softmax are kerasette's activation
layers (so a final sigmoid / softmax is still fused with its cross-entropy loss)."""

import numbers

import torch

from .. import config
from ..layers.base import mark_operation
from . import dispatch
from .core import float_tensor, standardize_dtype, tensor
from .numpy import tanh  # noqa: F401 (Keras has it in both namespaces)
from .reduction_layers import normalize_axes


def relu(x):
    if dispatch.any_symbolic(x):
        from ..layers import ReLU

        return mark_operation(ReLU())(x)
    return torch.relu(tensor(x))


def sigmoid(x):
    if dispatch.any_symbolic(x):
        from ..layers import Sigmoid

        return mark_operation(Sigmoid())(x)
    return torch.sigmoid(float_tensor(x))


def softmax(x, axis=-1):
    if dispatch.any_symbolic(x):
        from ..layers import Softmax

        return mark_operation(Softmax(axis=axis))(x)
    return torch.softmax(float_tensor(x), axis)


def log_softmax(x, axis=-1):
    if dispatch.any_symbolic(x):
        return dispatch.unary("log_softmax", x, axis=axis)
    return torch.log_softmax(float_tensor(x), axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot vectors of the integer labels `x` along a new `axis` (floatx by default). A
    label outside [0, num_classes) gives a row of zeros (Keras's torch backend does so for
    negative labels)."""
    dispatch.refuse_symbolic("one_hot", x)
    if sparse:
        raise ValueError("Invalid sparse: kerasette has dense tensors only, received True")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise ValueError(f"Invalid num_classes: expected a positive int, received "
                         f"{num_classes!r}")
    labels = tensor(x)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"Invalid x: expected integer labels, received dtype {labels.dtype}")
    classes = torch.arange(num_classes, device=labels.device)
    out = (labels.unsqueeze(-1) == classes).to(standardize_dtype(dtype) or config.floatx_dtype())
    (axis,) = normalize_axes(axis, out.ndim)
    return out.movedim(-1, axis)



# ----- activations as ops (Keras 3's ops.nn): ks.activations' functions (an Activation node on a
# symbolic tensor) or unary_more.py's table (a UnaryOp node) --------------------------------------
def softplus(x):
    """ln(1 + e^x)."""
    from .. import activations

    return activations.Softplus()(x)


def elu(x, alpha=1.0):
    """x if x > 0 else alpha (e^x - 1)."""
    from .. import activations

    return activations.ELU(alpha)(x)


def leaky_relu(x, negative_slope=0.2):
    """x if x > 0 else negative_slope x (Keras's ops default slope 0.2)."""
    from .. import activations

    return activations.LeakyReLU(negative_slope)(x)


def gelu(x, approximate=True):
    """Keras's ops.gelu: the tanh approximation by default, the exact form (erf) with
    approximate=False."""
    if approximate:
        return _gelu_tanh(x)
    from .. import activations

    return activations.GELU()(x)


def _from_table(name: str, doc: str):
    """The op `name` of unary_more.py's table: its forward on data, a UnaryOp node on symbolic
    tensors (numpy.py's `_elementwise`)."""
    from .numpy import _elementwise
    from .unary_more import MORE_UNARY

    return _elementwise(name, lambda t: MORE_UNARY[name](t)[0], doc, floats=True)


_gelu_tanh = _from_table("gelu_tanh", "GELU, tanh approximation.")
silu = _from_table("silu", "x sigmoid(x) (also `swish`).")
swish = silu
selu = _from_table("selu", "scale (x if x > 0 else alpha (e^x - 1)), Klambauer et al.'s constants.")
relu6 = _from_table("relu6", "min(max(x, 0), 6).")
hard_sigmoid = _from_table("hard_sigmoid", "clip(x / 6 + 1/2, 0, 1) (Keras 3).")
softsign = _from_table("softsign", "x / (1 + |x|).")
