"""More of Keras 3's `ks.ops`, each a graph node with a hand-written backward on symbolic tensors:
elementwise math (the derivatives are in unary_more.py), `einsum` of two tensors (einsum_layer.py),
and ops built from the others, whose gradient is then the composition's:

    norm(x) = sqrt(sum(x^2))   (ord None / 2 / "fro"; ord 1: sum |x|)
    normalize(x) = x * min(rsqrt(sum(x^2)), 1 / epsilon)   (Keras's L2 form)
    moments(x, axes) = (mean, var);  split(x, n, axis) = slices (x[key] nodes)
"""

import numbers

import torch

from . import dispatch
from .core import float_tensor, tensor
from .einsum_layer import EinsumOp
from .get_item import GetItemOp
from .numpy import _elementwise, divide, mean, sqrt, square, var
from .numpy import abs as abs_
from .numpy import sum as sum_

reciprocal = _elementwise("reciprocal", torch.reciprocal, "1 / x, entry by entry.", floats=True)
rsqrt = _elementwise("rsqrt", torch.rsqrt, "1 / sqrt(x), entry by entry.", floats=True)
log1p = _elementwise("log1p", torch.log1p, "ln(1 + x), entry by entry.", floats=True)
expm1 = _elementwise("expm1", torch.expm1, "e ** x - 1, entry by entry.", floats=True)
sin = _elementwise("sin", torch.sin, "sin x, entry by entry.", floats=True)
cos = _elementwise("cos", torch.cos, "cos x, entry by entry.", floats=True)
arctan = _elementwise("arctan", torch.atan, "atan x, entry by entry.", floats=True)
erf = _elementwise("erf", torch.erf, "The error function, entry by entry.", floats=True)
sign = _elementwise("sign", torch.sign, "-1, 0 or 1 by the sign of x (no gradient).")
stop_gradient = _elementwise("stop_gradient", lambda t: t,
                             "x itself; in a graph, no gradient flows back through it.")


def true_divide(x1, x2):
    """x1 / x2 (Keras's alias of divide)."""
    return divide(x1, x2)


def einsum(subscripts, *operands):
    """torch.einsum on data; on two symbolic tensors an EinsumOp node (einsum_layer.py says
    which equations have a gradient there)."""
    if dispatch.any_symbolic(*operands):
        if len(operands) != 2:
            raise TypeError(f"Invalid operands: einsum on symbolic tensors takes two, received "
                            f"{len(operands)}")
        return EinsumOp(subscripts)(list(operands))
    return torch.einsum(subscripts, *[tensor(o) for o in operands])


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (Keras's name)
    """The vector 2-norm (ord None, 2 or "fro", over `axis`, all axes for None) or 1-norm."""
    if dispatch.any_symbolic(x):
        if ord in (None, 2, "fro", "euclidean"):
            return sqrt(sum_(square(x), axis=axis, keepdims=keepdims))
        if ord == 1:
            return sum_(abs_(x), axis=axis, keepdims=keepdims)
        raise TypeError(f"Invalid ord: on symbolic tensors norm takes None, 2, 'fro' or 1, "
                        f"received {ord!r}")
    t = float_tensor(x)
    if axis is None:
        t, axis = t.reshape(-1), 0
    ord = 2 if ord in (None, "euclidean") else ord
    if ord == "fro":
        return torch.linalg.matrix_norm(t, "fro", dim=axis, keepdim=keepdims)
    return torch.linalg.vector_norm(t, ord, dim=axis, keepdim=keepdims)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its norm along `axis` (Keras's L2 form: x * min(rsqrt(sum(x^2)), 1/eps))."""
    from ..backend import epsilon as default_epsilon

    if order != 2:
        raise ValueError(f"Invalid order: kerasette's normalize takes 2, received {order!r}")
    eps = default_epsilon() if epsilon is None else float(epsilon)
    inv = rsqrt(sum_(square(x), axis=axis, keepdims=True))
    from .numpy import minimum, multiply

    return multiply(x, minimum(inv, 1.0 / eps))


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of x over `axes`."""
    return mean(x, axis=axes, keepdims=keepdims), var(x, axis=axes, keepdims=keepdims)


def split(x, indices_or_sections, axis=0):
    """x cut along `axis` into `n` equal parts (an int) or at the given indices (a list), as
    NumPy; on a symbolic tensor slices (x[key] nodes), along an axis other than the batch."""
    if not dispatch.any_symbolic(x):
        t = tensor(x)
        if isinstance(indices_or_sections, numbers.Integral):
            if t.shape[axis] % indices_or_sections:
                raise ValueError(f"Invalid indices_or_sections: {indices_or_sections} does not "
                                 f"divide axis {axis} of size {t.shape[axis]}")
        return list(torch.tensor_split(t, indices_or_sections, dim=axis))
    ndim = len(x.shape)
    ax = axis % ndim
    if ax == 0:
        raise ValueError("Invalid axis: a symbolic tensor cannot be split along its batch axis")
    size = x.shape[ax]
    if isinstance(indices_or_sections, numbers.Integral):
        n = int(indices_or_sections)
        if size is None or size % n:
            raise ValueError(f"Invalid indices_or_sections: {n} does not divide axis {axis} of "
                             f"size {size}")
        cuts = [size // n * i for i in range(1, n)]
    else:
        cuts = [int(i) for i in indices_or_sections]
    bounds = [0, *cuts, size]
    return [GetItemOp((slice(None),) * ax + (slice(lo, hi),))(x)
            for lo, hi in zip(bounds[:-1], bounds[1:])]
