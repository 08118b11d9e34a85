"""`ks.ops` NumPy-like ops (Keras 3.16's names and signatures: keras/src/ops/numpy.py).

On data they return torch tensors, as Keras's torch backend does; on symbolic tensors from
`ks.Input` the differentiable ones record graph nodes (see `dispatch.py`).
"""

import numbers

import torch

from .. import config
from ..layers.base import mark_operation
from . import dispatch
from .core import binary_op, float_tensor, named_op, standardize_dtype, tensor
from .fill_layers import batch_sized, fill
from .reduction_layers import ReduceOp, normalize_axes, reduce
from .shape_layers import (
    ConcatenateOp,
    ExpandDimsOp,
    ReshapeOp,
    SqueezeOp,
    StackOp,
    TransposeOp,
    expand_dims_shape,
    squeeze_shape,
    transpose_perm,
)


# ----- creation (data only) ----------------------------------------------------------------------
def _shape(shape) -> tuple:
    shape = (shape,) if isinstance(shape, numbers.Integral) else shape
    if not isinstance(shape, (tuple, list, torch.Size)) or not all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ValueError(f"Invalid shape: expected an int or a tuple of ints >= 0, received "
                         f"{shape!r}")
    return tuple(int(d) for d in shape)


def _dtype_of(value, dtype):
    if dtype is not None:
        return standardize_dtype(dtype)
    if isinstance(value, bool):
        return torch.bool
    if isinstance(value, numbers.Integral):
        return torch.int32
    return config.floatx_dtype()


def ones(shape, dtype=None):
    """Ones of `shape`; in a traced call() the first size may be None (the batch, fill_layers.py)."""
    if batch_sized(shape):
        return fill(shape, 1.0, standardize_dtype(dtype) or config.floatx_dtype())
    return torch.ones(_shape(shape), dtype=standardize_dtype(dtype) or config.floatx_dtype())


def zeros(shape, dtype=None):
    """Zeros of `shape`; in a traced call() the first size may be None (the batch)."""
    if batch_sized(shape):
        return fill(shape, 0.0, standardize_dtype(dtype) or config.floatx_dtype())
    return torch.zeros(_shape(shape), dtype=standardize_dtype(dtype) or config.floatx_dtype())


def full(shape, fill_value, dtype=None):
    """`fill_value` in every entry of `shape`; in a traced call() the first size may be None."""
    if batch_sized(shape) and isinstance(fill_value, numbers.Real):
        return fill(shape, fill_value, _dtype_of(fill_value, dtype))
    if isinstance(fill_value, torch.Tensor):
        return torch.full(_shape(shape), fill_value.item(), dtype=standardize_dtype(dtype)
                          or fill_value.dtype)
    return torch.full(_shape(shape), fill_value, dtype=_dtype_of(fill_value, dtype))


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in [start, stop) (one argument: [0, start)); int32 for int
    arguments, floatx otherwise (Keras's inference)."""
    if stop is None:
        start, stop = 0, start
    values = (start, stop, step)
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in values)
        dtype = torch.int32 if ints else config.floatx_dtype()
    if step == 0:
        raise ValueError("Invalid step: expected a nonzero number, received 0")
    return torch.arange(start, stop, step, dtype=standardize_dtype(dtype))


def eye(N, M=None, k=0, dtype=None):
    """A 2-D tensor with ones on the k-th diagonal (k > 0 above the main one)."""
    M = N if M is None else M
    dtype = standardize_dtype(dtype) or config.floatx_dtype()
    if k == 0:
        return torch.eye(N, M, dtype=dtype)
    return torch.ones(N, M, dtype=dtype).triu(k).tril(k)


# ----- elementwise math ----------------------------------------------------------------------------
def _binary(name: str, torch_fn, doc: str):
    """The op `name(x1, x2)`: `torch_fn` on data; on symbolic tensors a `BinaryOp(name)` graph node,
    whose hand-written backward `elementwise_layers` keeps under the same name."""
    return binary_op(name, torch_fn, doc, dispatch.binary)


add = _binary("add", torch.add, "x1 + x2, broadcast.")
subtract = _binary("subtract", torch.subtract, "x1 - x2, broadcast.")
multiply = _binary("multiply", torch.multiply, "x1 * x2, broadcast.")
divide = _binary("divide", torch.true_divide, "x1 / x2 (true division), broadcast.")
maximum = _binary("maximum", torch.maximum, "max(x1, x2) entry by entry, broadcast.")
minimum = _binary("minimum", torch.minimum, "min(x1, x2) entry by entry, broadcast.")
matmul = _binary("matmul", torch.matmul, "x1 @ x2 (leading axes broadcast as batch axes).")


def dot(x1, x2):
    """Keras's torch `dot`: matmul, or a product when an operand is a scalar."""
    scalar = any(getattr(x, "ndim", None) == 0 or isinstance(x, numbers.Number) for x in (x1, x2))
    return multiply(x1, x2) if scalar else matmul(x1, x2)


def _unary(name, x, fn, **params):
    if dispatch.any_symbolic(x):
        return dispatch.unary(name, x, **params)
    return fn(x)


def _elementwise(name: str, torch_fn, doc: str, floats: bool = False):
    """The op `name(x)`: `torch_fn` on data (converted to floatx first when `floats`); on symbolic
    tensors a `UnaryOp(name)` graph node with its hand-written backward."""
    to_tensor = float_tensor if floats else tensor

    def op(x):
        return _unary(name, x, lambda t: torch_fn(to_tensor(t)))
    return named_op(op, name, doc + (" Integer and bool data become floatx first." if floats else ""))


exp = _elementwise("exp", torch.exp, "e ** x, entry by entry.", floats=True)
log = _elementwise("log", torch.log, "ln(x), entry by entry.", floats=True)
sqrt = _elementwise("sqrt", torch.sqrt, "sqrt(x), entry by entry.", floats=True)
square = _elementwise("square", torch.square, "x * x, entry by entry.")
abs = _elementwise("abs", torch.abs, "|x|, entry by entry.")  # noqa: A001 (Keras's name)
absolute = abs
negative = _elementwise("negative", torch.negative, "-x, entry by entry.")


def clip(x, x_min, x_max):
    return _unary("clip", x, lambda t: torch.clamp(tensor(t), x_min, x_max), x_min=x_min,
                  x_max=x_max)


def tanh(x):
    if dispatch.any_symbolic(x):
        from ..layers import Tanh

        return mark_operation(Tanh())(x)
    return torch.tanh(float_tensor(x))


# ----- reductions ----------------------------------------------------------------------------------
def _reduce(op, x, axis, keepdims):
    if dispatch.any_symbolic(x):
        return ReduceOp(op, axis=axis, keepdims=keepdims)(x)
    t = tensor(x)
    if op in ("mean", "var", "std"):
        t = float_tensor(t)
    return reduce(op, t, axis, keepdims)[0]


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("sum", x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _reduce("mean", x, axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    y = _reduce("max", x, axis, keepdims)
    return y if initial is None else maximum(y, initial)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    y = _reduce("min", x, axis, keepdims)
    return y if initial is None else minimum(y, initial)


def var(x, axis=None, keepdims=False):
    """Population variance (divides by N, as NumPy and Keras do)."""
    return _reduce("var", x, axis, keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation (divides by N)."""
    return _reduce("std", x, axis, keepdims)


def _arg(name, pick, x, axis, keepdims):
    dispatch.refuse_symbolic(name, x)
    t = tensor(x)
    if axis is None:
        out = pick(t.reshape(-1))
        if keepdims:
            out = out.reshape((1,) * t.ndim)
    else:
        (axis,) = normalize_axes(axis, t.ndim)
        out = pick(t, dim=axis, keepdim=keepdims)
    return out.to(torch.int32)


def argmax(x, axis=None, keepdims=False):
    """Index of the largest entry (of the flattened tensor when axis is None), as int32."""
    return _arg("argmax", torch.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg("argmin", torch.argmin, x, axis, keepdims)


# ----- shapes --------------------------------------------------------------------------------------
def reshape(x, newshape):
    if dispatch.any_symbolic(x):
        return ReshapeOp(newshape)(x)
    return tensor(x).reshape(newshape)


def transpose(x, axes=None):
    if dispatch.any_symbolic(x):
        return TransposeOp(axes)(x)
    t = tensor(x)
    return t.permute(transpose_perm(t.ndim, axes))


def expand_dims(x, axis):
    if dispatch.any_symbolic(x):
        return ExpandDimsOp(axis)(x)
    t = tensor(x)
    return t.reshape(expand_dims_shape(tuple(t.shape), axis))


def squeeze(x, axis=None):
    if dispatch.any_symbolic(x):
        return SqueezeOp(axis)(x)
    t = tensor(x)
    return t.reshape(squeeze_shape(tuple(t.shape), axis))


def concatenate(xs, axis=0):
    xs = list(xs)
    if dispatch.any_symbolic(*xs):
        _all_symbolic("concatenate", xs)
        return ConcatenateOp(axis)(xs)
    return torch.cat([tensor(x) for x in xs], axis)


def stack(x, axis=0):
    xs = list(x)
    if dispatch.any_symbolic(*xs):
        _all_symbolic("stack", xs)
        return StackOp(axis)(xs)
    return torch.stack([tensor(t) for t in xs], axis)


def _all_symbolic(name, xs):
    if not all(dispatch.any_symbolic(x) for x in xs):
        raise TypeError(f"Invalid xs: ks.ops.{name} in a model's graph takes symbolic tensors "
                        f"only; received a mix of symbolic tensors and data "
                        f"({[type(x).__name__ for x in xs]})")


def cast(x, dtype):
    """`x` converted to `dtype`. On a symbolic tensor only casts to a float type build a graph node
    (from an integer or bool tensor, e.g. labels, the gradient back is zero: integers have none)."""
    dtype = standardize_dtype(dtype)
    if dispatch.any_symbolic(x):
        if not dtype.is_floating_point:
            dispatch.refuse_symbolic(f"cast to {str(dtype).replace('torch.', '')}", x)
        return dispatch.unary("cast", x, dtype=str(dtype).replace("torch.", ""))
    return tensor(x).to(dtype)
