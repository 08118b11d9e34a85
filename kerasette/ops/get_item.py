"""`x[key]` on a symbolic tensor: basic indexing as a graph node (Keras's `KerasTensor.__getitem__`).

    first = h[:, 0]            # (None, k) -> (None,)
    head = h[..., :2]          # the first two features
    as_column = h[:, None, :]  # a new axis after the batch

The key holds ints, slices (a positive step), None (a new axis) and at most one Ellipsis; the batch
axis must be kept whole (the key starts with `:` or `...`). A tensor without a batch axis (a layer's
weight read in a traced call(), `self.w[0]`) is indexed freely (`batch_axis=False`). The forward is
a view; the backward writes dy into zeros of x's shape at the same place:

    y = x[key]        dx = 0 everywhere, dx[key] = dy

Advanced indexing (tensors, lists, boolean masks) is refused with a TypeError: its backward would be
a scatter-add, which no layer here implements.
"""

import numbers

import torch

from .. import layers as _layers
from ..layers.base import Operation
from .elementwise_layers import auto_name


def check_key(key, batch_axis: bool = True) -> tuple:
    """`key` as a tuple of ints, slices, None and Ellipsis that keeps the batch axis whole (when
    the tensor has one)."""
    parts = key if isinstance(key, tuple) else (key,)
    for part in parts:
        if isinstance(part, bool) or not (
                part is None or part is Ellipsis or isinstance(part, (numbers.Integral, slice))):
            raise TypeError(f"Invalid index: a symbolic tensor takes ints, slices, None and '...' "
                            f"(basic indexing), received {type(part).__name__} {part!r}")
        if isinstance(part, slice) and not all(v is None or isinstance(v, numbers.Integral)
                                               and not isinstance(v, bool)
                                               for v in (part.start, part.stop, part.step)):
            raise TypeError(f"Invalid index: slice bounds must be ints or None, received {part!r}")
        if isinstance(part, slice) and part.step is not None and part.step <= 0:
            raise ValueError(f"Invalid index: a slice step must be positive, received {part!r}")
    if sum(part is Ellipsis for part in parts) > 1:
        raise ValueError(f"Invalid index: at most one '...', received {key!r}")
    first = parts[0] if parts else slice(None)
    if batch_axis and not (first is Ellipsis or first == slice(None)):
        raise ValueError(f"Invalid index: {key!r} would index the batch axis; start the key with "
                         f"':' or '...' (e.g. x[:, 0]) to index the features of every sample")
    return tuple(parts)


def indexed_shape(shape: tuple, key: tuple, batch_axis: bool = True) -> tuple:
    """The shape of x[key] for x of `shape` (None: unknown; with `batch_axis`, the first axis is
    the batch, kept whole).

    Found on empty "meta" tensors (no data): unknown sizes are tried as two different lengths, and
    an output size that differs between the two tries is unknown too."""
    if not batch_axis:
        return tuple(torch.empty(shape, device="meta")[key].shape)
    if key[0] is Ellipsis and sum(p is not None and p is not Ellipsis for p in key) >= len(shape):
        raise ValueError(f"Invalid index: {key!r} would index the batch axis of a tensor of shape "
                         f"{shape}; index the features only (e.g. x[..., 0] needs 2 axes or more)")
    tries = []
    for guess in (7, 11):
        sizes = [guess if d is None else d for d in shape]
        tries.append(torch.empty(sizes, device="meta")[key].shape)
    return (None, *(a if a == b else None for a, b in zip(tries[0][1:], tries[1][1:])))


class GetItemOp(Operation):
    """y = x[key] for a basic-indexing `key` (see the module docstring); dx = dy written at key."""

    def __init__(self, key, batch_axis: bool = True, **kwargs):
        kwargs.setdefault("name", auto_name("get_item"))
        super().__init__(**kwargs)
        self.batch_axis = bool(batch_axis)
        self.key = check_key(_decode(key) if isinstance(key, list) else key, self.batch_axis)

    def forward(self, x, training=False):
        key = self.key

        def backward(dy):
            dx = torch.zeros_like(x)
            dx[key] = dy
            return dx
        return x[key], backward

    def compute_output_shape(self, input_shape):
        try:
            return indexed_shape(tuple(input_shape), self.key, self.batch_axis)
        except IndexError as e:
            raise ValueError(f"Invalid index {self.key!r} for a tensor of shape "
                             f"{tuple(input_shape)}: {e}") from e

    def get_config(self) -> dict:
        return {**super().get_config(), "key": _encode(self.key), "batch_axis": self.batch_axis}


def _encode(key: tuple) -> list:
    """The key in JSON: slices as {"slice": [start, stop, step]}, '...' as "...", None as null."""
    return [{"slice": [p.start, p.stop, p.step]} if isinstance(p, slice) else
            "..." if p is Ellipsis else p if p is None else int(p) for p in key]


def _decode(parts: list) -> tuple:
    return tuple(slice(*p["slice"]) if isinstance(p, dict) else Ellipsis if p == "..." else p
                 for p in parts)


_layers.register(GetItemOp)
