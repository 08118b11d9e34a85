"""How an op chooses between data and the graph.

On tensors (or arrays, numbers) an op computes at once with torch. On a symbolic tensor from
`ks.Input` a differentiable op calls its layer (`UnaryOp`, `BinaryOp`, `ReduceOp`, ...), which
records a graph node with a hand-written backward; an op without a gradient raises a TypeError
that lists the ops that do work there. A binary op between a symbolic tensor and a layer's `Weight`
(a custom layer's call()) records a `WeightOp`, whose backward also fills the weight's gradient.
"""

import numbers

from ..graph.symbolic import is_symbolic
from ..layers.base import Weight
from .core import convert_to_tensor
from .elementwise_layers import BinaryOp, UnaryOp
from .select_layers import CompareOp, mixed_call
from .weight_operand import WeightOp

# ks.ops names that build graph nodes on symbolic tensors.
DIFFERENTIABLE = (
    "abs", "absolute", "add", "cast", "clip", "concatenate", "divide", "dot", "exp",
    "expand_dims", "log", "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum",
    "multiply", "negative", "relu", "reshape", "sigmoid", "softmax", "sqrt", "square",
    "squeeze", "stack", "std", "subtract", "sum", "tanh", "transpose", "var",
    "power",  # a symbolic base raised to a number
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "where",  # no gradient
    "logical_and", "logical_or", "logical_not",                                      # to conditions
)


def any_symbolic(*xs) -> bool:
    return any(is_symbolic(x) for x in xs)


def refuse_symbolic(name: str, *xs) -> None:
    """TypeError if an op without a gradient is given a symbolic tensor."""
    if any_symbolic(*xs):
        raise TypeError(f"ks.ops.{name} has no gradient here, so it cannot be a step of a model's "
                        f"graph (it received a symbolic tensor from ks.Input). The ops that build "
                        f"graph nodes (each with a hand-written backward) are: "
                        f"{', '.join(DIFFERENTIABLE)}. Apply {name} to the model's output "
                        f"data instead (e.g. ks.ops.{name}(model.predict(x)))")


def unary(name: str, x, **params):
    """The UnaryOp layer `name` called on the symbolic tensor x."""
    return UnaryOp(name, params)(x)


def _constant(x):
    """Python numbers and lists stay as they are (BinaryOp keeps floats in float64)."""
    return x if isinstance(x, (numbers.Number, list, tuple)) else convert_to_tensor(x)


def binary(name: str, x1, x2, concrete):
    """`concrete(x1, x2)` on data; on symbolic operands a BinaryOp node (the other operand, if
    it is data, becomes the layer's constant)."""
    s1, s2 = is_symbolic(x1), is_symbolic(x2)
    if s1 and s2:
        return BinaryOp(name)([x1, x2])
    if s1 and isinstance(x2, Weight):  # a layer's weight in its traced call(): it trains
        return WeightOp(name, x2)(x1)
    if s2 and isinstance(x1, Weight):
        return WeightOp(name, x1, weight_first=True)(x2)
    if s1:
        return BinaryOp(name, constant=_constant(x2))(x1)
    if s2:
        return BinaryOp(name, constant=_constant(x1), constant_first=True)(x2)
    return concrete(x1, x2)


def compare(name: str, x1, x2, concrete):
    """`concrete(x1, x2)` on data; with a symbolic operand a CompareOp node (a bool tensor that
    carries no gradient; the other operand may be a constant)."""
    if any_symbolic(x1, x2):
        return mixed_call(lambda constants: CompareOp(name, constants), x1, x2)
    return concrete(x1, x2)
