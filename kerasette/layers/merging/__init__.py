"""Merge layers: a layer called on a LIST of tensors that returns one tensor.

    y, backward = Add().forward([x0, x1, x2])
    dx0, dx1, dx2 = backward(dy)          # a tuple, one gradient per input, each of its input's shape

Elementwise layers (`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`) follow Keras 3's
broadcasting rule (see `elementwise`); where an input was broadcast, its gradient is summed back to
its own shape.

`Concatenate(axis=-1)` joins inputs along one axis; `Dot(axes, normalize=False)` is a per-sample dot
product (Keras's `batch_dot`). A merge layer has no weights.

Modules: `base` (`Merge` and the broadcasting helpers), `elementwise`, `concatenate`, `dot`.
"""

from .base import Merge
from .concatenate import Concatenate
from .dot import Dot
from .elementwise import Add, Average, Maximum, Minimum, Multiply, Subtract

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Merge", "Minimum", "Multiply", "Subtract"]
