"""The elementwise merge layers: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`.

They follow Keras 3's broadcasting rule (checked in keras 3.16, `layers/merging/base_merge.py`): the
batch sizes must be equal; the per-sample shapes broadcast NumPy-style, right-aligned, so an input of
lower rank gets size-1 axes inserted right after the batch axis: (N, 4) and (N, 3, 4) merge to
(N, 3, 4), and (N, 1) and (N, 4) to (N, 4). Where an input was broadcast, its gradient is summed back
to its own shape.
"""

import torch

from .base import Merge, align, sum_to


class Add(Merge):
    """y = x_0 + x_1 + ... + x_{n-1} (broadcast, see the module doc).

    dx_i = dy summed back to x_i's shape.
    """

    def _merge(self, xs):
        aligned = align(xs)
        y = aligned[0]
        for x in aligned[1:]:
            y = y + x
        shapes = [x.shape for x in xs]

        def backward(dy):
            return tuple(sum_to(dy, s) for s in shapes)
        return y, backward


class Subtract(Merge):
    """y = x_0 - x_1 (exactly two inputs).

    dx_0 = dy, dx_1 = -dy (each summed back to its input's shape).
    """

    min_inputs = max_inputs = 2

    def _merge(self, xs):
        a, b = align(xs)
        shape_a, shape_b = xs[0].shape, xs[1].shape

        def backward(dy):
            return sum_to(dy, shape_a), -sum_to(dy, shape_b)
        return a - b, backward


class Multiply(Merge):
    """y = x_0 * x_1 * ... * x_{n-1}.

    dx_i = dy * prod_{j != i} x_j (summed back to x_i's shape). The products of the others are
    built from prefix and suffix products, never by dividing y by x_i (which fails where x_i = 0).
    """

    def _merge(self, xs):
        aligned = align(xs)
        prefix = [aligned[0]]  # prefix[i] = x_0 * ... * x_i
        for x in aligned[1:]:
            prefix.append(prefix[-1] * x)
        shapes = [x.shape for x in xs]

        def backward(dy):
            dxs = [None] * len(aligned)
            after = dy  # dy * x_{i+1} * ... * x_{n-1}, built from the right
            for i in range(len(aligned) - 1, -1, -1):
                d = after if i == 0 else after * prefix[i - 1]
                dxs[i] = sum_to(d, shapes[i])
                if i > 0:
                    after = after * aligned[i]
            return tuple(dxs)
        return prefix[-1], backward


class Average(Merge):
    """y = (x_0 + ... + x_{n-1}) / n.

    dx_i = dy / n (summed back to x_i's shape).
    """

    def _merge(self, xs):
        aligned = align(xs)
        y = aligned[0]
        for x in aligned[1:]:
            y = y + x
        n = len(xs)
        shapes = [x.shape for x in xs]

        def backward(dy):
            scaled = dy / n
            return tuple(sum_to(scaled, s) for s in shapes)
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
    aligned = align(xs)
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
        return tuple(sum_to(torch.where(winner == i, dy, zero), s) for i, s in enumerate(shapes))
    return y, backward
