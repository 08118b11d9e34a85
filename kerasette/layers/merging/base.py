"""`Merge`, the base of the merge layers (it checks the input list and its shapes, then calls the
subclass's `_merge`), and Keras's per-sample broadcasting: `broadcast` of two shapes, `align` of the
inputs' ranks, `sum_to` of a broadcast gradient back to an input's shape."""

import torch

from ..base import Layer


class Merge(Layer):
    """Base of the merge layers: checks the input list, then calls `_merge(xs) -> (y, backward)`.

    Subclasses set `min_inputs` / `max_inputs` and may override `_output_per_sample` (the per-sample
    output shape from the per-sample input shapes; raise `ValueError` for incompatible shapes).
    The default is the broadcast of the inputs' per-sample shapes.
    """

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

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
            out = broadcast(out, s)
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


def broadcast(a: tuple, b: tuple) -> tuple | None:
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


def align(xs: list) -> list:
    """Give every input the same rank by inserting size-1 axes after the batch axis (Keras's rule),
    so torch broadcasting lines up per-sample shapes from the right, not the batch axis."""
    ranks = [x.dim() for x in xs]
    rank = max(ranks)
    if min(ranks) == rank:
        return xs
    return [x if x.dim() == rank else x.reshape(x.shape[0], *(1,) * (rank - x.dim()), *x.shape[1:])
            for x in xs]


def sum_to(d: torch.Tensor, shape) -> torch.Tensor:
    """Sum the broadcast gradient `d` back to an input's `shape`: over the axes inserted after the
    batch axis and over the axes where the input had size 1."""
    if d.shape == shape:
        return d
    extra = d.dim() - len(shape)
    axes = list(range(1, 1 + extra)) + [extra + i for i in range(1, len(shape))
                                        if shape[i] == 1 and d.shape[extra + i] != 1]
    return d.sum(axes, keepdim=True).reshape(shape) if axes else d.reshape(shape)
