"""`Concatenate(axis=-1)`: the inputs joined along one non-batch axis."""

import numbers

import torch

from .base import Merge


class Concatenate(Merge):
    """Joins the inputs along `axis` (default -1, the last); the batch axis 0 cannot be joined.

    x_i: (N, ..., k_i, ...) -> y: (N, ..., k_0 + k_1 + ..., ...); every other axis must match.
    dx_i = the slice of dy along `axis` that x_i filled (views, no copy).
    """

    def compute_mask(self, x, mask=None):
        """Keras's rule: each input's mask spread over its features (all True for an unmasked
        input), joined along `axis`, then any() over the last axis: along the features that is the
        OR of the masks (True wherever an input is unmasked), along the steps it joins them."""
        if mask is None or all(m is None for m in mask):
            return None
        spread = [torch.ones(t.shape, dtype=torch.bool, device=t.device) if m is None else
                  m.unsqueeze(-1).expand(t.shape) if m.dim() < t.dim() else m
                  for t, m in zip(x, mask)]
        return torch.cat(spread, dim=self.axis).any(dim=-1)

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
