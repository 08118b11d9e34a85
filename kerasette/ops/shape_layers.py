"""Shape ops as layers (`ks.ops.reshape(x, (-1, 4, 2))` on a symbolic tensor is a graph node).
Shapes here include the batch axis, as in `ks.ops` (unlike `ks.layers.Reshape`, which works per
sample). Each backward undoes the forward's rearrangement; none of them does arithmetic.

    reshape(newshape):    dx = dy.reshape(x.shape)
    transpose(axes):      dx = dy.permute(inverse of axes)
    expand_dims(axis), squeeze(axis): dx = dy.reshape(x.shape)
    concatenate(axis):    dx_i = the slice of dy that x_i filled
    stack(axis):          dx_i = dy.select(axis, i)
"""

import math

import torch

from .. import layers as _layers
from ..layers.base import Operation
from .elementwise_layers import auto_name
from .reduction_layers import normalize_axes


def transpose_perm(ndim: int, axes) -> tuple:
    """The permutation of `ndim` axes given by `axes` (None: all reversed, NumPy's default)."""
    if axes is None:
        return tuple(reversed(range(ndim)))
    axes = list(axes)
    perm = tuple(a % ndim for a in axes) if len(axes) == ndim and ndim else None
    if perm is None or sorted(perm) != list(range(ndim)):
        raise ValueError(f"Invalid axes: expected a permutation of the {ndim} axes, received "
                         f"{axes!r}")
    return perm


def expand_dims_shape(shape: tuple, axis) -> tuple:
    """`shape` with 1s inserted at `axis` (an int or a tuple: positions in the result)."""
    n = len(axis) if isinstance(axis, (list, tuple)) else 1
    axes = normalize_axes(axis, len(shape) + n)
    rest = iter(shape)
    return tuple(1 if i in axes else next(rest) for i in range(len(shape) + n))


def squeeze_shape(shape: tuple, axis) -> tuple:
    """`shape` without the axes of size 1 at `axis` (None: all of them)."""
    if axis is None:
        return tuple(d for d in shape if d != 1)
    axes = normalize_axes(axis, len(shape))
    if any(shape[a] not in (1, None) for a in axes):
        raise ValueError(f"Invalid axis: squeeze removes axes of size 1, received axis={axis!r} "
                         f"for shape {tuple(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reshape_back(x):
    return lambda dy: dy.reshape(x.shape)


class ReshapeOp(Operation):
    """y = x.reshape(newshape) (batch axis included; one entry may be -1)."""

    def __init__(self, newshape, **kwargs):
        newshape = (newshape,) if isinstance(newshape, int) else tuple(newshape)
        if sum(d == -1 for d in newshape) > 1 or not all(
                isinstance(d, int) and (d > 0 or d == -1) for d in newshape):
            raise ValueError(f"Invalid newshape: expected a tuple of positive ints with at most "
                             f"one -1, received {newshape!r}")
        kwargs.setdefault("name", auto_name("reshape"))
        super().__init__(**kwargs)
        self.newshape = newshape

    def forward(self, x, training=False):
        return x.reshape(self.newshape), _reshape_back(x)

    def compute_output_shape(self, input_shape):
        if -1 not in self.newshape:
            return self.newshape
        if None in input_shape:
            return tuple(None if d == -1 else d for d in self.newshape)
        known = math.prod(d for d in self.newshape if d != -1)
        return tuple(math.prod(input_shape) // known if d == -1 else d for d in self.newshape)

    def get_config(self) -> dict:
        return {**super().get_config(), "newshape": list(self.newshape)}


class TransposeOp(Operation):
    """y = x.permute(axes); axes None reverses them all (NumPy's transpose)."""

    def __init__(self, axes=None, **kwargs):
        kwargs.setdefault("name", auto_name("transpose"))
        super().__init__(**kwargs)
        self.axes = None if axes is None else [int(a) for a in axes]

    def forward(self, x, training=False):
        perm = transpose_perm(x.ndim, self.axes)
        inverse = tuple(sorted(range(len(perm)), key=perm.__getitem__))
        return x.permute(perm), lambda dy: dy.permute(inverse)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[a] for a in transpose_perm(len(input_shape), self.axes))

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes}


class ExpandDimsOp(Operation):
    """Insert axes of size 1 at `axis` (an int or a tuple, positions in the output)."""

    def __init__(self, axis, **kwargs):
        kwargs.setdefault("name", auto_name("expand_dims"))
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (tuple, list)) else axis

    def forward(self, x, training=False):
        return x.reshape(expand_dims_shape(tuple(x.shape), self.axis)), _reshape_back(x)

    def compute_output_shape(self, input_shape):
        return expand_dims_shape(tuple(input_shape), self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class SqueezeOp(Operation):
    """Remove the axes of size 1 at `axis` (None: every axis of size 1)."""

    def __init__(self, axis=None, **kwargs):
        kwargs.setdefault("name", auto_name("squeeze"))
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (tuple, list)) else axis

    def forward(self, x, training=False):
        return x.reshape(squeeze_shape(tuple(x.shape), self.axis)), _reshape_back(x)

    def compute_output_shape(self, input_shape):
        return squeeze_shape(tuple(input_shape), self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class ConcatenateOp(Operation):
    """y = torch.cat(xs, axis) on a list of inputs."""

    def __init__(self, axis=0, **kwargs):
        kwargs.setdefault("name", auto_name("concatenate"))
        super().__init__(**kwargs)
        self.axis = int(axis)

    def forward(self, xs, training=False):
        axis = self.axis % xs[0].ndim
        sizes = [x.shape[axis] for x in xs]
        return torch.cat(xs, axis), lambda dy: tuple(torch.split(dy, sizes, axis))

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        axis = self.axis % len(shapes[0])
        sizes = [s[axis] for s in shapes]
        total = None if None in sizes else sum(sizes)
        return (*shapes[0][:axis], total, *shapes[0][axis + 1:])

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class StackOp(Operation):
    """y = torch.stack(xs, axis) on a list of inputs of one shape."""

    def __init__(self, axis=0, **kwargs):
        kwargs.setdefault("name", auto_name("stack"))
        super().__init__(**kwargs)
        self.axis = int(axis)

    def forward(self, xs, training=False):
        axis = self.axis % (xs[0].ndim + 1)
        return torch.stack(xs, axis), lambda dy: tuple(dy.unbind(axis))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[0])
        axis = self.axis % (len(shape) + 1)
        return (*shape[:axis], len(input_shape), *shape[axis:])

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


for _cls in (ReshapeOp, TransposeOp, ExpandDimsOp, SqueezeOp, ConcatenateOp, StackOp):
    _layers.register(_cls)
