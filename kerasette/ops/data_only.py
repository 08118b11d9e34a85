"""More `ks.ops` that Keras scripts use on data — in custom metrics (`ops.equal`, `ops.logical_and`,
`ops.broadcast_to`, `ops.shape`, as Keras's own `Metric` docstring does), masks and post-processing.
Keras 3.16 names and signatures. They have no graph layer: on a symbolic tensor they raise the
TypeError of `dispatch.refuse_symbolic`.
"""

import builtins

import torch

from . import dispatch
from .core import float_tensor, standardize_dtype, tensor
from .reduction_layers import normalize_axes


def _pair(name, x1, x2):
    dispatch.refuse_symbolic(name, x1, x2)
    return tensor(x1), tensor(x2)


def _one(name, x):
    dispatch.refuse_symbolic(name, x)
    return tensor(x)


def equal(x1, x2):
    return torch.eq(*_pair("equal", x1, x2))


def not_equal(x1, x2):
    return torch.ne(*_pair("not_equal", x1, x2))


def greater(x1, x2):
    return torch.gt(*_pair("greater", x1, x2))


def greater_equal(x1, x2):
    return torch.ge(*_pair("greater_equal", x1, x2))


def less(x1, x2):
    return torch.lt(*_pair("less", x1, x2))


def less_equal(x1, x2):
    return torch.le(*_pair("less_equal", x1, x2))


def logical_and(x1, x2):
    return torch.logical_and(*_pair("logical_and", x1, x2))


def logical_or(x1, x2):
    return torch.logical_or(*_pair("logical_or", x1, x2))


def logical_not(x):
    return torch.logical_not(_one("logical_not", x))


def isnan(x):
    return torch.isnan(_one("isnan", x))


def isfinite(x):
    return torch.isfinite(_one("isfinite", x))


def where(condition, x1=None, x2=None):
    """Entries of x1 where `condition`, else of x2; with only `condition`, the indices of its
    nonzero entries (a tuple of index tensors, as NumPy)."""
    dispatch.refuse_symbolic("where", condition, x1, x2)
    cond = tensor(condition).to(torch.bool)
    if x1 is None and x2 is None:
        return torch.nonzero(cond, as_tuple=True)
    if x1 is None or x2 is None:
        raise ValueError("Invalid x1/x2: give both (or neither), received one of them")
    return torch.where(cond, tensor(x1), tensor(x2))


def shape(x) -> tuple:
    """The shape as a tuple of ints."""
    return tuple(_one("shape", x).shape)


def broadcast_to(x, shape):
    return _one("broadcast_to", x).broadcast_to(tuple(shape))


def power(x1, x2):
    return torch.pow(*_pair("power", x1, x2))


def sign(x):
    return torch.sign(_one("sign", x))


def floor(x):
    return torch.floor(float_tensor(_one("floor", x)))


def ceil(x):
    return torch.ceil(float_tensor(_one("ceil", x)))


def round(x, decimals=0):  # noqa: A001 (Keras's name)
    return torch.round(float_tensor(_one("round", x)), decimals=decimals)


def log1p(x):
    return torch.log1p(float_tensor(_one("log1p", x)))


def zeros_like(x, dtype=None):
    return torch.zeros_like(_one("zeros_like", x), dtype=standardize_dtype(dtype))


def ones_like(x, dtype=None):
    return torch.ones_like(_one("ones_like", x), dtype=standardize_dtype(dtype))


def _axes(t, axis):
    return normalize_axes(axis, t.ndim) if t.ndim else ()


def logsumexp(x, axis=None, keepdims=False):
    t = float_tensor(_one("logsumexp", x))
    axes = _axes(t, axis)
    return torch.logsumexp(t, axes, keepdim=keepdims) if axes else t.clone()


def prod(x, axis=None, keepdims=False, dtype=None):
    t = _one("prod", x)
    if dtype is not None:
        t = t.to(standardize_dtype(dtype))
    for a in reversed(_axes(t, axis)):
        t = t.prod(a, keepdim=keepdims)
    return t


def cumsum(x, axis=None, dtype=None):
    """Running sums along `axis` (of the flattened tensor when axis is None)."""
    t = _one("cumsum", x)
    if axis is None:
        t, axis = t.reshape(-1), 0
    (axis,) = normalize_axes(axis, t.ndim)
    return torch.cumsum(t, axis, dtype=standardize_dtype(dtype))


def _boolean_reduce(name, pick, x, axis, keepdims):
    t = _one(name, x).to(torch.bool)
    axes = _axes(t, axis)
    for a in reversed(axes):
        t = pick(t, a, keepdim=keepdims)
    return t


def any(x, axis=None, keepdims=False):  # noqa: A001
    return _boolean_reduce("any", torch.any, x, axis, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _boolean_reduce("all", torch.all, x, axis, keepdims)


NAMES = ("all", "any", "broadcast_to", "ceil", "cumsum", "equal", "floor", "greater",
         "greater_equal", "isfinite", "isnan", "less", "less_equal", "log1p", "logical_and",
         "logical_not", "logical_or", "logsumexp", "not_equal", "ones_like", "power", "prod",
         "round", "shape", "sign", "where", "zeros_like")
assert builtins.all(name in globals() for name in NAMES)
