"""More data-only `ks.ops` (Keras 3 names and signatures): sorting, masks, grids and tiling, for
metrics, callbacks and post-processing. On a symbolic tensor each raises the TypeError of
`dispatch.refuse_symbolic`, which lists the ops that build graph nodes."""

import torch

from .core import float_tensor, standardize_dtype
from .data_only import _binary, _one

mod = _binary("mod", torch.remainder, "x1 mod x2, with the sign of x2 (as NumPy).")
floor_divide = _binary("floor_divide", torch.floor_divide, "floor(x1 / x2), entry by entry.")
outer = _binary("outer", lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)),
                "The outer product of x1 and x2, both flattened.")


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x1 - x2| <= atol + rtol |x2|, entry by entry (bool)."""
    a, b = _one("isclose", x1), _one("isclose", x2)
    return torch.isclose(a, b.to(a.dtype) if a.is_floating_point() else b, rtol=rtol, atol=atol,
                         equal_nan=equal_nan)


def sort(x, axis=-1):
    """x sorted ascending along `axis`."""
    return torch.sort(_one("sort", x), dim=axis).values


def argsort(x, axis=-1):
    """The indices that sort x ascending along `axis`."""
    return torch.argsort(_one("argsort", x), dim=axis)


def top_k(x, k, sorted=True):  # noqa: A002 (Keras's name)
    """(values, indices) of the k largest entries along the last axis."""
    out = torch.topk(_one("top_k", x), int(k), dim=-1, sorted=sorted)
    return out.values, out.indices.to(torch.int32)


def flip(x, axis=None):
    """x with the order of entries reversed along `axis` (all axes for None)."""
    t = _one("flip", x)
    dims = tuple(range(t.dim())) if axis is None else (
        (axis,) if isinstance(axis, int) else tuple(axis))
    return torch.flip(t, dims)


def tile(x, repeats):
    """x repeated `repeats` times along each axis (NumPy's tile)."""
    t = _one("tile", x)
    return torch.tile(t, (repeats,) if isinstance(repeats, int) else tuple(repeats))


def repeat(x, repeats, axis=None):
    """Each entry repeated `repeats` times along `axis` (flattened first for None)."""
    t = _one("repeat", x)
    return torch.repeat_interleave(t, repeats, dim=axis)


def triu(x, k=0):
    """x with the entries below the k-th diagonal set to 0."""
    return torch.triu(_one("triu", x), diagonal=k)


def tril(x, k=0):
    """x with the entries above the k-th diagonal set to 0 (a causal mask from ones)."""
    return torch.tril(_one("tril", x), diagonal=k)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced (by 0 and the dtype's extremes unless given)."""
    return torch.nan_to_num(_one("nan_to_num", x), nan=nan, posinf=posinf, neginf=neginf)


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    """`num` evenly spaced values from start to stop (stop left out with endpoint=False)."""
    dtype = standardize_dtype(dtype) or float_tensor(0.0).dtype
    if endpoint:
        return torch.linspace(float(start), float(stop), int(num), dtype=dtype)
    step = (float(stop) - float(start)) / int(num)
    return torch.arange(int(num), dtype=torch.float64).mul_(step).add_(float(start)).to(dtype)


NAMES = ("mod", "floor_divide", "outer", "isclose", "sort", "argsort", "top_k", "flip", "tile",
         "repeat", "triu", "tril", "nan_to_num", "linspace")
