"""Elementwise ops as layers, so `ks.ops.exp(x)` on a symbolic tensor becomes a graph node.

Each op is a function `(x, ...) -> (y, backward)` with its derivative written beside it; the layers
`UnaryOp` and `BinaryOp` only pick the function by name. Binary ops broadcast as NumPy does, and
their backward sums each gradient back to its operand's shape (`unbroadcast`). One operand of a
`BinaryOp` may be a constant (`ks.ops.multiply(x, 2.0)`): it is kept in the layer, moved to the
input's device and dtype at each call, and gets no gradient.

    exp:      y = e^x                 dx = dy * y
    log:      y = ln x                dx = dy / x
    sqrt:     y = sqrt(x)             dx = dy / (2 y)
    square:   y = x^2                 dx = 2 x dy
    abs:      y = |x|                 dx = sign(x) dy           (0 at x = 0, as torch)
    negative: y = -x                  dx = -dy
    clip:     y = min(max(x, lo), hi) dx = dy where lo <= x <= hi, else 0
    power (a number p): y = x^p       dx = p x^(p-1) dy
    log_softmax (axis): y = x - logsumexp(x)   dx = dy - softmax(x) * sum(dy)
    cast (to a float type): y = x in dtype     dx = dy in x's dtype (zeros for an integer x)

    add a + b (dy, dy)   subtract a - b (dy, -dy)   multiply a * b (dy b, dy a)
    divide a / b (dy / b, -dy a / b^2)
    maximum / minimum: dy goes to the larger / smaller operand (split in half on ties, as torch)
    matmul a @ b (dy @ b^T, a^T @ dy), batched, with NumPy's rules for 1-D operands
"""

import torch

from .. import layers as _layers
from ..layers.base import Layer, Operation
from .core import standardize_dtype
from .unary_more import MORE_UNARY


# ----- unary ---------------------------------------------------------------------------------------
def _exp(x):
    y = torch.exp(x)
    return y, lambda dy: dy * y


def _log(x):
    return torch.log(x), lambda dy: dy / x


def _sqrt(x):
    y = torch.sqrt(x)
    return y, lambda dy: dy / (2 * y)


def _square(x):
    return x * x, lambda dy: 2 * x * dy


def _abs(x):
    return torch.abs(x), lambda dy: dy * torch.sign(x)


def _negative(x):
    return -x, lambda dy: -dy


def _power(x, exponent):
    return torch.pow(x, exponent), lambda dy: dy * exponent * torch.pow(x, exponent - 1)


def _clip(x, x_min, x_max):
    inside = (x >= x_min) & (x <= x_max)
    return torch.clamp(x, x_min, x_max), lambda dy: dy * inside


def _log_softmax(x, axis):
    y = torch.log_softmax(x, axis)
    return y, lambda dy: dy - torch.exp(y) * dy.sum(axis, keepdim=True)


def _cast(x, dtype):
    if not x.is_floating_point():  # integer labels made float: no gradient flows to integers
        return x.to(standardize_dtype(dtype)), lambda dy: dy.new_zeros(x.shape)
    return x.to(standardize_dtype(dtype)), lambda dy: dy.to(x.dtype)


UNARY = {"exp": _exp, "log": _log, "sqrt": _sqrt, "square": _square, "abs": _abs,
         "negative": _negative, "clip": _clip, "log_softmax": _log_softmax, "cast": _cast,
         "power": _power, **MORE_UNARY}  # MORE_UNARY: unary_more.py (rsqrt, sin, silu, ...)


# ----- binary --------------------------------------------------------------------------------------
def _add(a, b):
    return a + b, lambda dy: (dy, dy)


def _subtract(a, b):
    return a - b, lambda dy: (dy, -dy)


def _multiply(a, b):
    return a * b, lambda dy: (dy * b, dy * a)


def _divide(a, b):
    y = a / b
    return y, lambda dy: (dy / b, -dy * y / b)


def _pick(a, b, first_wins):
    """Share of dy going to a: 1 where a wins, 1/2 on a tie, 0 elsewhere."""
    return first_wins.to(a.dtype) + 0.5 * (a == b).to(a.dtype)


def _maximum(a, b):
    share = _pick(a, b, a > b)
    return torch.maximum(a, b), lambda dy: (dy * share, dy * (1 - share))


def _minimum(a, b):
    share = _pick(a, b, a < b)
    return torch.minimum(a, b), lambda dy: (dy * share, dy * (1 - share))


def _matmul(a, b):
    """NumPy's matmul: a 1-D `a` is a row (1, n), a 1-D `b` a column (n, 1), removed again."""
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    y = torch.matmul(a2, b2)
    if a.ndim == 1:
        y = y.squeeze(-2)
    if b.ndim == 1:
        y = y.squeeze(-1)

    def backward(dy):
        if b.ndim == 1:
            dy = dy.unsqueeze(-1)
        if a.ndim == 1:
            dy = dy.unsqueeze(-2)
        da = unbroadcast(dy @ b2.transpose(-1, -2), a2.shape).reshape(a.shape)
        db = unbroadcast(a2.transpose(-1, -2) @ dy, b2.shape).reshape(b.shape)
        return da, db

    return y, backward


BINARY = {"add": _add, "subtract": _subtract, "multiply": _multiply, "divide": _divide,
          "maximum": _maximum, "minimum": _minimum, "matmul": _matmul}


def unbroadcast(grad: torch.Tensor, shape) -> torch.Tensor:
    """Sum `grad` over the axes along which an operand of `shape` was broadcast."""
    shape = tuple(shape)
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axes, keepdim=True)
    return grad


def broadcast_shapes(a: tuple, b: tuple) -> tuple:
    """NumPy's broadcast of two shapes where None is an unknown size (the batch)."""
    out = []
    for i in range(max(len(a), len(b))):
        x = a[len(a) - 1 - i] if i < len(a) else 1
        y = b[len(b) - 1 - i] if i < len(b) else 1
        if x == 1 or x is None and y not in (1, None):
            out.append(y)
        elif y == 1 or y is None or x == y:
            out.append(x)
        else:
            raise ValueError(f"Invalid operands: shapes {a} and {b} do not broadcast")
    return tuple(reversed(out))


def matmul_shape(a: tuple, b: tuple) -> tuple:
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] is not None and b2[-2] is not None and a2[-1] != b2[-2]:
        raise ValueError(f"Invalid operands: matmul of shapes {a} and {b} (inner sizes "
                         f"{a2[-1]} and {b2[-2]} differ)")
    out = (*broadcast_shapes(a2[:-2], b2[:-2]), a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def binary_shape(op: str, a: tuple, b: tuple) -> tuple:
    """The output shape of the BINARY op `op` on operands of shapes a and b."""
    return matmul_shape(a, b) if op == "matmul" else broadcast_shapes(a, b)


def _as_constant(value) -> torch.Tensor:
    """A tensor for the constant operand; Python floats are kept in float64 (the forward casts
    to the input's dtype), so a float64 model loses nothing and a config round trip is exact."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    t = torch.as_tensor(value)
    return torch.as_tensor(value, dtype=torch.float64) if t.is_floating_point() else t


# ----- the layers ----------------------------------------------------------------------------------
def auto_name(base: str) -> str:
    """Keras-style unique default names ("exp", "exp_1", ...) from the layers' shared counters."""
    n = Layer._counters.get(base, 0)
    Layer._counters[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


class UnaryOp(Operation):
    """One elementwise op of `UNARY` (`op`, with its keyword `params`) as a layer."""

    def __init__(self, op: str, params: dict | None = None, **kwargs):
        if op not in UNARY:
            raise ValueError(f"Invalid op: expected one of {sorted(UNARY)}, received {op!r}")
        kwargs.setdefault("name", auto_name(op))
        super().__init__(**kwargs)
        self.op, self.params = op, dict(params or {})

    def forward(self, x, training=False):
        return UNARY[self.op](x, **self.params)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "params": dict(self.params)}


class BinaryOp(Operation):
    """One op of `BINARY` as a layer: on a list [a, b], or on one input and a `constant`
    (the right operand, or the left one with `constant_first=True`)."""

    def __init__(self, op: str, constant=None, constant_first: bool = False, **kwargs):
        if op not in BINARY:
            raise ValueError(f"Invalid op: expected one of {sorted(BINARY)}, received {op!r}")
        kwargs.setdefault("name", auto_name(op))
        super().__init__(**kwargs)
        self.op = op
        self.constant = None if constant is None else _as_constant(constant)
        self.constant_first = bool(constant_first)

    def _operands(self, x):
        if self.constant is None:
            return x
        c = self.constant.to(device=x.device, dtype=x.dtype)
        return (c, x) if self.constant_first else (x, c)

    def forward(self, x, training=False):
        a, b = self._operands(x)
        y, grads = BINARY[self.op](a, b)
        one_input, first = self.constant is not None, self.constant_first

        def backward(dy):
            da, db = grads(dy)
            da, db = unbroadcast(da, a.shape), unbroadcast(db, b.shape)
            if not one_input:
                return da, db
            return db if first else da

        return y, backward

    def compute_output_shape(self, input_shape):
        if self.constant is None:
            a, b = (tuple(s) for s in input_shape)
        else:
            a, b = tuple(input_shape), tuple(self.constant.shape)
            if self.constant_first:
                a, b = b, a
        return binary_shape(self.op, a, b)

    def get_config(self) -> dict:
        constant = None if self.constant is None else self.constant.tolist()
        return {**super().get_config(), "op": self.op, "constant": constant,
                "constant_first": self.constant_first}


for _cls in (UnaryOp, BinaryOp):
    _layers.register(_cls)
