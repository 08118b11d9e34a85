"""Comparisons and `where` on symbolic tensors: how a graph picks one of two branches per entry, as in
a Huber-like loss written with `ks.ops`:

    e = ks.ops.abs(y_true - y_pred)
    ks.ops.where(e <= 1.0, 0.5 * e ** 2, e - 0.5)

A comparison (`greater`, `greater_equal`, `less`, `less_equal`, `equal`, `not_equal`; also `> >= < <=`
on symbolic tensors), and `logical_and` / `logical_or` / `logical_not` combining conditions, give a
bool tensor and no gradient: `where` sends none to its condition, so their backward is never asked
for. `where` sends dy to the branch each entry came from:

    y = where(c, a, b)      da = dy where c, else 0      db = dy where not c, else 0
                            (each summed back to its operand's shape)

Any operand may be a constant (a number or an array) instead of a symbolic tensor.
"""

import torch

from .. import layers as _layers
from ..layers.base import Operation
from .elementwise_layers import _as_constant, auto_name, broadcast_shapes, unbroadcast

COMPARE = {"greater": torch.gt, "greater_equal": torch.ge, "less": torch.lt, "less_equal": torch.le,
           "equal": torch.eq, "not_equal": torch.ne,
           "logical_and": torch.logical_and, "logical_or": torch.logical_or}  # conditions combined


class _Mixed(Operation):
    """A layer whose operands are symbolic tensors (given to its call, in order) or constants
    (kept in the layer): `constants[i]` is None where operand i is symbolic."""

    def __init__(self, constants: list, **kwargs):
        super().__init__(**kwargs)
        self.constants = [None if c is None else _as_constant(c) for c in constants]

    def _operands(self, x) -> list:
        """The operands in order: the given tensors, and the constants moved to the first given
        tensor's device (and float type, when both are floats)."""
        given = list(x) if isinstance(x, (list, tuple)) else [x]
        ref, rest = given[0], iter(given)
        return [next(rest) if c is None else c.to(device=ref.device, dtype=ref.dtype if (
            c.is_floating_point() and ref.is_floating_point()) else c.dtype)
            for c in self.constants]

    def _shapes(self, input_shape) -> list:
        given = iter(input_shape if isinstance(input_shape, list) else [input_shape])
        return [tuple(next(given)) if c is None else tuple(c.shape) for c in self.constants]

    def _config_constants(self) -> list:
        return [None if c is None else c.tolist() for c in self.constants]


class CompareOp(_Mixed):
    """`op(a, b)` of `COMPARE` as a bool tensor; no gradient flows through it."""

    def __init__(self, op: str, constants=(None, None), **kwargs):
        if op not in COMPARE:
            raise ValueError(f"Invalid op: expected one of {sorted(COMPARE)}, received {op!r}")
        kwargs.setdefault("name", auto_name(op))
        super().__init__(list(constants), **kwargs)
        self.op = op

    def forward(self, x, training=False):
        a, b = self._operands(x)
        several = isinstance(x, (list, tuple))
        return COMPARE[self.op](a, b), lambda dy: (None, None) if several else None

    def compute_output_shape(self, input_shape):
        return broadcast_shapes(*self._shapes(input_shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "constants": self._config_constants()}


class WhereOp(_Mixed):
    """`where(condition, x1, x2)`: dy goes to x1 where the condition holds, to x2 elsewhere."""

    def __init__(self, constants=(None, None, None), **kwargs):
        kwargs.setdefault("name", auto_name("where"))
        super().__init__(list(constants), **kwargs)

    def forward(self, x, training=False):
        cond, a, b = self._operands(x)
        cond = cond.to(torch.bool)
        symbolic = [c is None for c in self.constants]

        def backward(dy):
            grads = [None, unbroadcast(torch.where(cond, dy, 0.0), a.shape),
                     unbroadcast(torch.where(cond, 0.0, dy), b.shape)]
            picked = [g for g, s in zip(grads, symbolic) if s]
            return tuple(picked) if isinstance(x, (list, tuple)) else picked[0]
        return torch.where(cond, a, b), backward

    def compute_output_shape(self, input_shape):
        cond, a, b = self._shapes(input_shape)
        return broadcast_shapes(cond, broadcast_shapes(a, b))

    def get_config(self) -> dict:
        return {**super().get_config(), "constants": self._config_constants()}


def mixed_call(layer_for, *operands):
    """Call the layer `layer_for(constants)` on the symbolic operands (one tensor, or a list)."""
    from ..graph.symbolic import is_symbolic
    from .weight_read import lift

    operands = [lift(o) for o in operands]  # a layer's weight in a traced call() is symbolic
    constants = [None if is_symbolic(o) else o for o in operands]
    symbolic = [o for o in operands if is_symbolic(o)]
    return layer_for(constants)(symbolic if len(symbolic) > 1 else symbolic[0])


for _cls in (CompareOp, WhereOp):
    _layers.register(_cls)
