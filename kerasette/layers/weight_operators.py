"""Operators on a `Weight`, as on a Keras variable: `w * 2.0`, `x @ w`, `-w`, `w ** 2`, `w[:, 0]`.

On data they compute from the current value and return a torch tensor (Keras's variables do the
same on its torch backend). Inside a traced call() they go through `ks.ops`, which read the weight
into the graph by a `WeightRead` node (kerasette/ops/weight_read.py), so the result trains it.
`==` stays the identity test: weights are kept in sets and dicts.
"""

import numpy as np

from ..graph.symbolic import _via_ops  # the same operators as a KerasTensor's


class WeightOperators:
    """Mixed into `Weight` (layers/base.py)."""

    __slots__ = ()

    __add__, __radd__ = _via_ops("add"), _via_ops("add", reverse=True)
    __sub__, __rsub__ = _via_ops("subtract"), _via_ops("subtract", reverse=True)
    __mul__, __rmul__ = _via_ops("multiply"), _via_ops("multiply", reverse=True)
    __truediv__, __rtruediv__ = _via_ops("divide"), _via_ops("divide", reverse=True)
    __matmul__, __rmatmul__ = _via_ops("matmul"), _via_ops("matmul", reverse=True)
    __pow__, __rpow__ = _via_ops("power"), _via_ops("power", reverse=True)

    def __neg__(self):
        from .. import ops

        return ops.negative(self)

    def __abs__(self):
        from .. import ops

        return ops.abs(self)

    def __getitem__(self, key):
        """`w[key]`: a slice of the value, or in a traced call() a GetItemOp node on its read."""
        from ..graph.tracing import current_trace

        if current_trace() is None:
            return self.value[key]
        from ..ops.weight_read import weight_tensor

        return weight_tensor(self)[key]

    def __array__(self, dtype=None, copy=None):
        """`np.asarray(w)`: a copy of the value on the host."""
        return np.asarray(self.numpy(), dtype=dtype)
