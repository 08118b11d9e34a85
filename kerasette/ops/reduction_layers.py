"""Reductions as layers (`ks.ops.sum(x, axis=1)` on a symbolic tensor is a graph node).

For the reduced axes A (all of them when axis is None), N the number of entries reduced and dy
broadcast back over A:

    sum:   y = sum_A x                     dx = dy
    mean:  y = sum_A x / N                 dx = dy / N
    max:   y = max_A x                     dx = dy * [x == y] / (number of ties)   (torch's rule)
    min:   as max
    var:   y = sum_A (x - m)^2 / N         dx = dy * 2 (x - m) / N      (m = mean_A x; ddof 0)
    std:   y = sqrt(var)                   dx = dy * (x - m) / (N y)
"""

import math
import numbers

import torch

from .. import layers as _layers
from ..layers.base import Operation
from .elementwise_layers import auto_name


def normalize_axes(axis, ndim: int, arg: str = "axis") -> tuple:
    """Sorted non-negative axes from None (all), an int or a sequence of distinct ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = [axis] if isinstance(axis, numbers.Integral) else axis
    bad = isinstance(axis, bool) or not isinstance(axes, (list, tuple))
    out = []
    for a in ([] if bad else axes):
        if isinstance(a, bool) or not isinstance(a, numbers.Integral) or not -ndim <= a < ndim:
            bad = True
            break
        out.append(int(a) % ndim)
    if bad or len(set(out)) != len(out):
        raise ValueError(f"Invalid {arg}: expected None, an int or a tuple of distinct ints in "
                         f"[-{ndim}, {ndim}) for a tensor of rank {ndim}, received {axis!r}")
    return tuple(sorted(out))


def _expand(dy, axes, keepdims):
    """dy with the reduced axes put back (size 1), so it broadcasts against x."""
    if not keepdims:
        for a in axes:
            dy = dy.unsqueeze(a)
    return dy


def reduce(op: str, x: torch.Tensor, axis=None, keepdims: bool = False):
    """(y, backward) of reduction `op` over `axis`."""
    axes = normalize_axes(axis, x.ndim) if x.ndim else ()
    n = math.prod(x.shape[a] for a in axes)
    if op == "sum":
        y = x.sum(axes, keepdim=keepdims) if axes else x.clone()
        return y, lambda dy: _expand(dy, axes, keepdims).expand_as(x).clone()
    if op == "mean":
        y = x.mean(axes, keepdim=keepdims) if axes else x.clone()
        return y, lambda dy: _expand(dy, axes, keepdims).expand_as(x) / n
    if op in ("max", "min"):
        pick = torch.amax if op == "max" else torch.amin
        top = pick(x, axes, keepdim=True) if axes else x
        hit = (x == top).to(x.dtype)
        ties = hit.sum(axes, keepdim=True) if axes else hit
        y = top if keepdims or not axes else top.squeeze(axes)
        return y, lambda dy: _expand(dy, axes, keepdims) * hit / ties
    if op in ("var", "std"):
        centred = x - x.mean(axes, keepdim=True) if axes else torch.zeros_like(x)
        var = (centred * centred).mean(axes, keepdim=True) if axes else centred
        if op == "var":
            y = var if keepdims or not axes else var.squeeze(axes)
            return y, lambda dy: _expand(dy, axes, keepdims) * 2 * centred / max(n, 1)
        std = torch.sqrt(var)
        y = std if keepdims or not axes else std.squeeze(axes)
        return y, lambda dy: _expand(dy, axes, keepdims) * centred / (max(n, 1) * std)
    raise ValueError(f"Invalid op: expected one of sum, mean, max, min, var, std, received {op!r}")


class ReduceOp(Operation):
    """A reduction (`op` in sum, mean, max, min, var, std) over `axis` as a layer."""

    OPS = ("sum", "mean", "max", "min", "var", "std")

    def __init__(self, op: str, axis=None, keepdims: bool = False, **kwargs):
        if op not in self.OPS:
            raise ValueError(f"Invalid op: expected one of {list(self.OPS)}, received {op!r}")
        if not isinstance(keepdims, bool):
            raise TypeError(f"Invalid keepdims: expected True or False, received {keepdims!r}")
        kwargs.setdefault("name", auto_name(op))
        super().__init__(**kwargs)
        self.op = op
        self.axis = list(axis) if isinstance(axis, (tuple, list)) else axis
        self.keepdims = keepdims

    def forward(self, x, training=False):
        return reduce(self.op, x, self.axis, self.keepdims)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        axes = normalize_axes(self.axis, len(shape)) if shape else ()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in axes)

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "axis": self.axis,
                "keepdims": self.keepdims}


_layers.register(ReduceOp)
