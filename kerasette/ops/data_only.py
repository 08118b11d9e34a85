"""More `ks.ops` that Keras scripts use on data — in custom metrics (`ops.equal`, `ops.logical_and`,
`ops.broadcast_to`, `ops.shape`, as Keras's own `Metric` docstring does), masks and post-processing.
Keras 3.16 names and signatures. Most have no graph layer: on a symbolic tensor they raise the
TypeError of `dispatch.refuse_symbolic`. The comparisons and `where` do build nodes there
(select_layers.py), so a graph or a loss function can pick between two branches; `power` with a
number exponent too (elementwise_layers.py).
"""

import builtins
import numbers

import torch

from ..graph.symbolic import is_symbolic
from . import dispatch
from .core import binary_op, float_tensor, named_op, standardize_dtype, tensor
from .reduction_layers import normalize_axes
from .select_layers import WhereOp, mixed_call


def _pair(name, x1, x2):
    dispatch.refuse_symbolic(name, x1, x2)
    return tensor(x1), tensor(x2)


def _one(name, x):
    dispatch.refuse_symbolic(name, x)
    return tensor(x)


def _binary(name: str, torch_fn, doc: str):
    """The data-only op `name(x1, x2)`: `torch_fn` on the two tensors, broadcast."""
    def op(x1, x2):
        return torch_fn(*_pair(name, x1, x2))
    return named_op(op, name, doc)


def _unary(name: str, torch_fn, doc: str, floats: bool = False):
    """The data-only op `name(x)`: `torch_fn` on the tensor (made floatx first when `floats`)."""
    to_tensor = float_tensor if floats else (lambda t: t)

    def op(x):
        return torch_fn(to_tensor(_one(name, x)))
    return named_op(op, name, doc + (" Integer and bool data become floatx first." if floats else ""))


def _compare(name: str, torch_fn, doc: str):
    """The comparison `name(x1, x2)`; on a symbolic operand a `CompareOp` node (select_layers.py:
    a bool tensor, no gradient), which `where` can use."""
    return binary_op(name, torch_fn, doc, dispatch.compare)


equal = _compare("equal", torch.eq, "x1 == x2, entry by entry (bool).")
not_equal = _compare("not_equal", torch.ne, "x1 != x2, entry by entry (bool).")
greater = _compare("greater", torch.gt, "x1 > x2, entry by entry (bool).")
greater_equal = _compare("greater_equal", torch.ge, "x1 >= x2, entry by entry (bool).")
less = _compare("less", torch.lt, "x1 < x2, entry by entry (bool).")
less_equal = _compare("less_equal", torch.le, "x1 <= x2, entry by entry (bool).")
logical_and = _compare("logical_and", torch.logical_and, "x1 and x2 as truth values (bool).")
logical_or = _compare("logical_or", torch.logical_or, "x1 or x2 as truth values (bool).")


def logical_not(x):
    """not x as truth values (bool); on a symbolic x the node `equal(x, False)` (the same truth)."""
    if dispatch.any_symbolic(x):
        return equal(x, False)
    return torch.logical_not(tensor(x))
isnan = _unary("isnan", torch.isnan, "True where x is NaN.")
isfinite = _unary("isfinite", torch.isfinite, "True where x is neither NaN nor infinite.")
floor = _unary("floor", torch.floor, "The largest integer <= x, entry by entry.", floats=True)
ceil = _unary("ceil", torch.ceil, "The smallest integer >= x, entry by entry.", floats=True)


def where(condition, x1=None, x2=None):
    """Entries of x1 where `condition`, else of x2; with only `condition`, the indices of its
    nonzero entries (a tuple of index tensors, as NumPy). With a symbolic operand (and both x1 and
    x2) a `WhereOp` node: dy goes to the branch each entry came from (select_layers.py)."""
    if dispatch.any_symbolic(condition, x1, x2) and x1 is not None and x2 is not None:
        return mixed_call(lambda constants: WhereOp(constants), condition, x1, x2)
    dispatch.refuse_symbolic("where", condition, x1, x2)
    cond = tensor(condition).to(torch.bool)
    if x1 is None and x2 is None:
        return torch.nonzero(cond, as_tuple=True)
    if x1 is None or x2 is None:
        raise ValueError("Invalid x1/x2: give both (or neither), received one of them")
    return torch.where(cond, tensor(x1), tensor(x2))


def shape(x) -> tuple:
    """The shape as a tuple of ints; of a symbolic tensor its known shape, None for the batch
    (as Keras), which ks.ops.zeros / ones / full take inside a traced call()."""
    if is_symbolic(x) and not isinstance(x, (list, tuple, dict)):
        return tuple(x.shape)
    return tuple(_one("shape", x).shape)


def broadcast_to(x, shape):
    return _one("broadcast_to", x).broadcast_to(tuple(shape))


def round(x, decimals=0):  # noqa: A001 (Keras's name)
    return torch.round(float_tensor(_one("round", x)), decimals=decimals)


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


def power(x1, x2):
    """x1 ** x2, broadcast. A symbolic x1 raised to a number p is a graph node (the UnaryOp
    "power": dx = p x^(p-1) dy); a symbolic exponent has no gradient here and is refused."""
    if dispatch.any_symbolic(x1) and isinstance(x2, numbers.Real) and not isinstance(x2, bool):
        return dispatch.unary("power", x1, exponent=float(x2))
    return torch.pow(*_pair("power", x1, x2))


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _boolean_reduce("all", torch.all, x, axis, keepdims)


NAMES = ("all", "any", "broadcast_to", "ceil", "cumsum", "equal", "floor", "greater",
         "greater_equal", "isfinite", "isnan", "less", "less_equal", "logical_and",
         "logical_not", "logical_or", "logsumexp", "not_equal", "ones_like", "power", "prod",
         "round", "shape", "where", "zeros_like")
assert builtins.all(name in globals() for name in NAMES)
