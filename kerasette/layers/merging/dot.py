"""`Dot(axes, normalize=False)`: the per-sample dot product of two inputs (Keras's `batch_dot`),
optionally of their L2-normalized forms (the cosine similarity)."""

import numbers

import torch

from .base import Merge


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

    def compute_mask(self, x, mask=None):
        return None  # as Keras: the product has no step axis left to mask

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
