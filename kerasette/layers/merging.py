"""Merge layers: a layer called on a LIST of tensors that returns one tensor.

    y, backward = Add().forward([x0, x1, x2])
    dx0, dx1, dx2 = backward(dy)          # a tuple, one gradient per input, each of its input's shape

Elementwise layers (`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`) follow Keras 3's
broadcasting rule (checked in keras 3.16, `layers/merging/base_merge.py`): the batch sizes must be
equal; the per-sample shapes broadcast NumPy-style, right-aligned, so an input of lower rank gets size-1
axes inserted right after the batch axis: (N, 4) and (N, 3, 4) merge to (N, 3, 4), and (N, 1) and
(N, 4) to (N, 4). Where an input was broadcast, its gradient is summed back to its own shape.

`Concatenate(axis=-1)` joins inputs along one axis; `Dot(axes, normalize=False)` is a per-sample dot
product (Keras's `batch_dot`). A merge layer has no weights.
"""

import numbers

import torch

from .base import Layer


class Merge(Layer):
    """Base of the merge layers: checks the input list, then calls `_merge(xs) -> (y, backward)`.

    Subclasses set `min_inputs` / `max_inputs` and may override `_output_per_sample` (the per-sample
    output shape from the per-sample input shapes; raise `ValueError` for incompatible shapes).
    The default is the broadcast of the inputs' per-sample shapes.
    """

    min_inputs = 1
    max_inputs: int | None = None
    elementwise = True  # the output has the inputs' shape when they all have one shape

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    # ----- shapes ---------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)  # validation only: a merge layer has no weights

    def compute_output_shape(self, input_shape) -> tuple:
        shapes = self._check_shape_list(input_shape)
        batch = {s[0] for s in shapes} - {None}
        if len(batch) > 1:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) cannot merge inputs with "
                             f"different batch sizes, received input shapes {shapes}")
        out = self._output_per_sample([s[1:] for s in shapes], shapes)
        return (batch.pop() if batch else None, *out)

    def _output_per_sample(self, per_sample: list, shapes: list) -> tuple:
        out = ()
        for s in per_sample:
            out = _broadcast(out, s)
            if out is None:
                raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects inputs whose "
                                 f"shapes broadcast together, received input shapes {shapes}")
        return out

    def _check_shape_list(self, input_shape) -> list:
        kind = type(self).__name__
        if not isinstance(input_shape, (list, tuple)) or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"Layer '{self.name}' ({kind}) must be called on a list of inputs, "
                             f"received input_shape={input_shape!r}")
        shapes = [tuple(s) for s in input_shape]
        self._check_count(len(shapes), shapes)
        if any(len(s) < 1 for s in shapes):
            raise ValueError(f"Layer '{self.name}' ({kind}) expects inputs with a batch dimension, "
                             f"received input shapes {shapes}")
        return shapes

    def _check_count(self, n: int, shapes) -> None:
        lo, hi = self.min_inputs, self.max_inputs
        if n < lo or (hi is not None and n > hi):
            expected = (f"exactly {lo}" if lo == hi else f"at least {lo}" if hi is None
                        else f"{lo} to {hi}")
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects {expected} "
                             f"input{'s' if hi != 1 else ''}, received {n}: input shapes {shapes}")

    # ----- forward --------------------------------------------------------------------------
    def forward(self, inputs, training=False):
        """`(y, backward)` for a list of tensors; `backward(dy)` returns a tuple of dx."""
        if not isinstance(inputs, (list, tuple)) or not all(
                isinstance(x, torch.Tensor) for x in inputs):
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) must be called on a "
                             f"list of tensors, received {type(inputs).__name__}")
        xs = list(inputs)
        if not (self.elementwise and self._plain(xs)):  # the common case skips the full check
            self.compute_output_shape([tuple(x.shape) for x in xs])
        return self._merge(xs)

    def _plain(self, xs) -> bool:
        """True for an allowed number of inputs that all have one shape, of rank >= 1."""
        n, hi, first = len(xs), self.max_inputs, xs[0].shape if xs else None
        return (self.min_inputs <= n and (hi is None or n <= hi) and len(first) >= 1
                and all(x.shape == first for x in xs))

    def _merge(self, xs: list):
        raise NotImplementedError(f"{type(self).__name__} does not implement _merge")


# ----- the elementwise layers -----------------------------------------------------------------
class Add(Merge):
    """y = x_0 + x_1 + ... + x_{n-1} (broadcast, see the module doc).

    dx_i = dy summed back to x_i's shape.
    """

    def _merge(self, xs):
        aligned = _align(xs)
        y = aligned[0]
        for x in aligned[1:]:
            y = y + x
        shapes = [x.shape for x in xs]

        def backward(dy):
            return tuple(_sum_to(dy, s) for s in shapes)
        return y, backward


class Subtract(Merge):
    """y = x_0 - x_1 (exactly two inputs).

    dx_0 = dy, dx_1 = -dy (each summed back to its input's shape).
    """

    min_inputs = max_inputs = 2

    def _merge(self, xs):
        a, b = _align(xs)
        shape_a, shape_b = xs[0].shape, xs[1].shape

        def backward(dy):
            return _sum_to(dy, shape_a), -_sum_to(dy, shape_b)
        return a - b, backward


class Multiply(Merge):
    """y = x_0 * x_1 * ... * x_{n-1}.

    dx_i = dy * prod_{j != i} x_j (summed back to x_i's shape). The products of the others are
    built from prefix and suffix products, never by dividing y by x_i (which fails where x_i = 0).
    """

    def _merge(self, xs):
        aligned = _align(xs)
        prefix = [aligned[0]]  # prefix[i] = x_0 * ... * x_i
        for x in aligned[1:]:
            prefix.append(prefix[-1] * x)
        shapes = [x.shape for x in xs]

        def backward(dy):
            dxs = [None] * len(aligned)
            after = dy  # dy * x_{i+1} * ... * x_{n-1}, built from the right
            for i in range(len(aligned) - 1, -1, -1):
                d = after if i == 0 else after * prefix[i - 1]
                dxs[i] = _sum_to(d, shapes[i])
                if i > 0:
                    after = after * aligned[i]
            return tuple(dxs)
        return prefix[-1], backward


class Average(Merge):
    """y = (x_0 + ... + x_{n-1}) / n.

    dx_i = dy / n (summed back to x_i's shape).
    """

    def _merge(self, xs):
        aligned = _align(xs)
        y = aligned[0]
        for x in aligned[1:]:
            y = y + x
        n = len(xs)
        shapes = [x.shape for x in xs]

        def backward(dy):
            scaled = dy / n
            return tuple(_sum_to(scaled, s) for s in shapes)
        return y / n, backward


class Maximum(Merge):
    """y = max(x_0, ..., x_{n-1}) elementwise.

    dx_i = dy where x_i holds the maximum, else 0 (summed back to x_i's shape). Ties: the whole
    gradient goes to the FIRST input (lowest index) holding the maximum, never split, so the dx's
    always add up to dy. (torch.maximum's autograd splits a tie between the two.)
    """

    def _merge(self, xs):
        return _select(xs, torch.gt)


class Minimum(Merge):
    """y = min(x_0, ..., x_{n-1}) elementwise.

    dx_i = dy where x_i holds the minimum, else 0. Ties: the whole gradient goes to the FIRST input
    holding the minimum, as for `Maximum`.
    """

    def _merge(self, xs):
        return _select(xs, torch.lt)


def _select(xs, better):
    """Elementwise max (better=torch.gt) or min (torch.lt), and its backward.

    A later input replaces the running winner only where it is strictly better, so on ties the
    first input keeps the win; `winner` holds the index of the input each entry came from.
    """
    aligned = _align(xs)
    y = aligned[0]
    winner = torch.zeros((), dtype=torch.uint8 if len(xs) < 256 else torch.int64,
                         device=y.device)
    for i, x in enumerate(aligned[1:], start=1):
        take = better(x, y)
        y = torch.where(take, x, y)
        winner = torch.where(take, i, winner)
    shapes = [x.shape for x in xs]

    def backward(dy):
        zero = dy.new_zeros(())
        return tuple(_sum_to(torch.where(winner == i, dy, zero), s) for i, s in enumerate(shapes))
    return y, backward


# ----- Concatenate ----------------------------------------------------------------------------
class Concatenate(Merge):
    """Joins the inputs along `axis` (default -1, the last); the batch axis 0 cannot be joined.

    x_i: (N, ..., k_i, ...) -> y: (N, ..., k_0 + k_1 + ..., ...); every other axis must match.
    dx_i = the slice of dy along `axis` that x_i filled (views, no copy).
    """

    elementwise = False

    def __init__(self, axis: int = -1, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Invalid axis: expected an int, received {axis!r}")
        if axis == 0:
            raise ValueError("Invalid axis: expected a non-batch axis (not 0), received 0")
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _output_per_sample(self, per_sample, shapes):
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"Layer '{self.name}' (Concatenate) expects inputs of the same rank, "
                             f"received input shapes {shapes}")
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise ValueError(f"Layer '{self.name}' (Concatenate) got axis={self.axis}, which is "
                             f"not a non-batch axis of inputs of shapes {shapes}")
        out = list(shapes[0])
        for s in shapes[1:]:
            for d in range(1, rank):
                if d == axis:
                    out[d] = None if out[d] is None or s[d] is None else out[d] + s[d]
                elif out[d] is None:
                    out[d] = s[d]
                elif s[d] is not None and s[d] != out[d]:
                    raise ValueError(
                        f"Layer '{self.name}' (Concatenate) expects inputs of matching shapes "
                        f"except along axis {self.axis}, received input shapes {shapes}")
        return tuple(out[1:])

    def _merge(self, xs):
        y = torch.cat(xs, dim=self.axis)
        sizes = [x.shape[self.axis] for x in xs]
        axis = self.axis

        def backward(dy):
            return tuple(torch.split(dy, sizes, dim=axis))
        return y, backward

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


# ----- Dot ------------------------------------------------------------------------------------
class Dot(Merge):
    """Per-sample dot product of two inputs along `axes` (Keras's `batch_dot`).

    Args:
        axes: an int (the same axis of both inputs) or a pair (axis of x, axis of y); counted
            with the batch axis as 0, which cannot be used; negative values count from the end.
        normalize: L2-normalize each input along its axis first, so y is the cosine similarity.

    Shapes: x (N, *A) with axis a of size K, y (N, *B) with axis b of size K ->
    out (N, *A without a, *B without b); (N, 1) when both inputs are (N, K).

        X = x with axis a moved last, as (N, P, K)       Y = y with axis b moved to 1, as (N, K, Q)
        Z = X @ Y      (N, P, Q), reshaped to out
        dX = dZ @ Y^T                                     dY = X^T @ dZ
    (then reshaped and moved back to each input's layout).

    normalize=True (Keras's `normalize`): u = x * r with r = 1 / sqrt(max(sum_a x^2, eps^2)),
    eps = 1e-7; its backward is du -> r * (du - u * sum_a(du * u)), without the second term where
    the norm was clamped to eps (there u = x / eps is linear in x).
    """

    min_inputs = max_inputs = 2
    elementwise = False

    def __init__(self, axes, normalize: bool = False, **kwargs):
        pair = axes if isinstance(axes, (list, tuple)) else (axes,)
        if (not isinstance(axes, (numbers.Integral, list, tuple))
                or isinstance(axes, (list, tuple)) and len(axes) != 2
                or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in pair)):
            raise ValueError(f"Invalid axes: expected an int or a pair of ints, received {axes!r}")
        if any(a == 0 for a in pair):
            raise ValueError(f"Invalid axes: the batch axis 0 cannot be used, received {axes!r}")
        if not isinstance(normalize, bool):
            raise TypeError(f"Invalid normalize: expected a bool, received {normalize!r}")
        super().__init__(**kwargs)
        self.axes = [int(a) for a in axes] if isinstance(axes, (list, tuple)) else int(axes)
        self.normalize = normalize

    def _resolve_axes(self, rank_x: int, rank_y: int, shapes) -> tuple[int, int]:
        ax, ay = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        ax, ay = ax + rank_x if ax < 0 else ax, ay + rank_y if ay < 0 else ay
        if rank_x < 2 or rank_y < 2 or not (1 <= ax < rank_x and 1 <= ay < rank_y):
            raise ValueError(f"Layer '{self.name}' (Dot) got axes={self.axes}, which does not name "
                             f"a non-batch axis of each input; received input shapes {shapes}")
        return ax, ay

    def _output_per_sample(self, per_sample, shapes):
        sx, sy = shapes
        ax, ay = self._resolve_axes(len(sx), len(sy), shapes)
        if sx[ax] is not None and sy[ay] is not None and sx[ax] != sy[ay]:
            raise ValueError(f"Layer '{self.name}' (Dot) expects axes of equal size, received "
                             f"size {sx[ax]} at axis {ax} and {sy[ay]} at axis {ay}: input shapes "
                             f"{shapes}")
        out = sx[1:ax] + sx[ax + 1:] + sy[1:ay] + sy[ay + 1:]
        return out if out else (1,)

    def _merge(self, xs):
        x, y = xs
        ax, ay = self._resolve_axes(x.dim(), y.dim(), [tuple(x.shape), tuple(y.shape)])
        norm_x = norm_y = None
        if self.normalize:
            x, norm_x = _l2_normalize(x, ax)
            y, norm_y = _l2_normalize(y, ay)
        n, k = x.shape[0], x.shape[ax]
        x_moved = x.movedim(ax, -1)                       # (N, *A', K)
        y_moved = y.movedim(ay, 1)                        # (N, K, *B')
        rest_x, rest_y = x_moved.shape[1:-1], y_moved.shape[2:]
        X = x_moved.reshape(n, -1, k)                     # (N, P, K)
        Y = y_moved.reshape(n, k, -1)                     # (N, K, Q)
        Z = torch.bmm(X, Y)                               # (N, P, Q)
        out = Z.reshape(n, *rest_x, *rest_y) if rest_x or rest_y else Z.reshape(n, 1)

        def backward(dout):
            dZ = dout.reshape(Z.shape)
            dX = torch.bmm(dZ, Y.transpose(1, 2))         # (N, P, K)
            dY = torch.bmm(X.transpose(1, 2), dZ)         # (N, K, Q)
            dx = dX.reshape(x_moved.shape).movedim(-1, ax)
            dy = dY.reshape(y_moved.shape).movedim(1, ay)
            if norm_x is not None:
                dx, dy = norm_x(dx), norm_y(dy)
            return dx, dy
        return out, backward

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


_NORMALIZE_EPSILON = 1e-7  # Keras's backend.epsilon(), the floor of the norm in ops.normalize


def _l2_normalize(x, axis):
    """u = x / max(||x||_axis, eps) and the backward du -> dx (see `Dot`)."""
    square_sum = (x * x).sum(axis, keepdim=True)
    floor = _NORMALIZE_EPSILON ** 2
    r = torch.rsqrt(square_sum.clamp_min(floor))
    u = x * r
    unclamped = square_sum >= floor

    def backward(du):
        along = (du * u).sum(axis, keepdim=True)
        return r * (du - u * torch.where(unclamped, along, along.new_zeros(())))
    return u, backward


# ----- broadcasting helpers -------------------------------------------------------------------
def _broadcast(a: tuple, b: tuple) -> tuple | None:
    """Keras's per-sample broadcast of two shapes (None: unknown size); None if incompatible."""
    if len(a) < len(b):
        a, b = b, a
    out = list(a[:len(a) - len(b)])
    for i, j in zip(a[len(a) - len(b):], b):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i == j:
            out.append(i)
        else:
            return None
    return tuple(out)


def _align(xs: list) -> list:
    """Give every input the same rank by inserting size-1 axes after the batch axis (Keras's rule),
    so torch broadcasting lines up per-sample shapes from the right, not the batch axis."""
    ranks = [x.dim() for x in xs]
    rank = max(ranks)
    if min(ranks) == rank:
        return xs
    return [x if x.dim() == rank else x.reshape(x.shape[0], *(1,) * (rank - x.dim()), *x.shape[1:])
            for x in xs]


def _sum_to(d: torch.Tensor, shape) -> torch.Tensor:
    """Sum the broadcast gradient `d` back to an input's `shape`: over the axes inserted after the
    batch axis and over the axes where the input had size 1."""
    if d.shape == shape:
        return d
    extra = d.dim() - len(shape)
    axes = list(range(1, 1 + extra)) + [extra + i for i in range(1, len(shape))
                                        if shape[i] == 1 and d.shape[extra + i] != 1]
    return d.sum(axes, keepdim=True).reshape(shape) if axes else d.reshape(shape)
