"""How an op chooses between data and the graph.

On tensors (or arrays, numbers) an op computes at once with torch. On a symbolic tensor from
`ks.Input` a differentiable op calls its layer (`UnaryOp`, `BinaryOp`, `ReduceOp`, ...), which
records a graph node with a hand-written backward; an op without a gradient raises a TypeError
that lists the ops that do work there. Inside a traced call(), a layer's `Weight` counts as
symbolic: it enters the graph through a `WeightRead` node (kerasette/ops/weight_read.py), so it
trains; so does a weight in a binary op with a symbolic tensor in a functional model.
"""

import numbers

import torch

from ..graph.symbolic import KerasTensor, is_symbolic
from ..graph.tracing import tracing
from .core import convert_to_tensor
from .elementwise_layers import BinaryOp, UnaryOp
from .select_layers import CompareOp, mixed_call
from .weight_read import is_traced_weight, lift

# ks.ops names that build graph nodes on symbolic tensors.
DIFFERENTIABLE = (
    "abs", "absolute", "add", "cast", "clip", "concatenate", "divide", "dot", "exp",
    "expand_dims", "log", "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum",
    "multiply", "negative", "relu", "reshape", "sigmoid", "softmax", "sqrt", "square",
    "squeeze", "stack", "std", "subtract", "sum", "tanh", "transpose", "var",
    "power",  # a symbolic base raised to a number
    "reciprocal", "rsqrt", "log1p", "expm1", "sin", "cos", "arctan", "erf", "sign",
    "stop_gradient", "true_divide", "einsum", "norm", "normalize", "moments", "split",
    "softplus", "elu", "leaky_relu", "gelu", "silu", "swish", "selu", "relu6", "hard_sigmoid",
    "softsign",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "where",  # no gradient
    "logical_and", "logical_or", "logical_not",                                      # to conditions
)


def any_symbolic(*xs) -> bool:
    """True when an operand is symbolic, or is a layer's weight inside a traced call()."""
    return any(is_symbolic(x) or is_traced_weight(x) for x in xs)


def refuse_symbolic(name: str, *xs) -> None:
    """TypeError if an op without a gradient is given a symbolic tensor."""
    if any_symbolic(*xs):
        raise TypeError(f"ks.ops.{name} has no gradient here, so it cannot be a step of a model's "
                        f"graph (it received a symbolic tensor from ks.Input, or a layer's weight "
                        f"in a traced call()). The ops that build "
                        f"graph nodes (each with a hand-written backward) are: "
                        f"{', '.join(DIFFERENTIABLE)}. Apply {name} to the model's output "
                        f"data instead (e.g. ks.ops.{name}(model.predict(x)))")


def unary(name: str, x, **params):
    """The UnaryOp layer `name` called on the symbolic tensor x."""
    return UnaryOp(name, params)(x)


def _constant(x):
    """Python numbers and lists stay as they are (BinaryOp keeps floats in float64). In a traced
    call(), a weight's `.value` tensor is refused: as a constant it would never train."""
    if isinstance(x, torch.Tensor) and tracing() is not None:
        for w in tracing().weights:
            if x is w.value:
                raise TypeError(f"Invalid operand: '{tracing().name}'.call() uses "
                                f"'{w.name}'.value, which would enter the graph as a constant "
                                f"that never trains; use the weight itself (e.g. self.w, not "
                                f"self.w.value)")
    return x if isinstance(x, (numbers.Number, list, tuple)) else convert_to_tensor(x)


def _lift_pair(x1, x2):
    """Both operands with a layer's weight made symbolic (see `lift`): in a traced call(), or
    beside a symbolic tensor it then hangs from."""
    return (lift(x1, x2 if isinstance(x2, KerasTensor) else None),
            lift(x2, x1 if isinstance(x1, KerasTensor) else None))


def binary(name: str, x1, x2, concrete):
    """`concrete(x1, x2)` on data; on symbolic operands a BinaryOp node (the other operand, if
    it is data, becomes the layer's constant)."""
    x1, x2 = _lift_pair(x1, x2)
    s1, s2 = is_symbolic(x1), is_symbolic(x2)
    if s1 and s2:
        return BinaryOp(name)([x1, x2])
    if s1:
        return BinaryOp(name, constant=_constant(x2))(x1)
    if s2:
        return BinaryOp(name, constant=_constant(x1), constant_first=True)(x2)
    return concrete(x1, x2)


def compare(name: str, x1, x2, concrete):
    """`concrete(x1, x2)` on data; with a symbolic operand a CompareOp node (a bool tensor that
    carries no gradient; the other operand may be a constant)."""
    x1, x2 = _lift_pair(x1, x2)
    if any_symbolic(x1, x2):
        return mixed_call(lambda constants: CompareOp(name, constants), x1, x2)
    return concrete(x1, x2)
