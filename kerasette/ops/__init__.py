"""`ks.ops`: the NumPy-like ops Keras scripts use (Keras 3.16 names and signatures).

    ks.ops.softmax(logits)           # on data: a torch tensor, as Keras's torch backend returns
    ks.ops.mean(ks.ops.square(x - y), axis=-1)

On a symbolic tensor from `ks.Input` the differentiable ops (`dispatch.DIFFERENTIABLE`) record a
graph node whose layer has a hand-written backward, so they can sit inside a functional model:

    inputs = ks.Input((8,))
    outputs = ks.ops.exp(ks.layers.Dense(1)(inputs))
    model = ks.Model(inputs, outputs)

The others (argmax, one_hot, creation ops, ...) raise a TypeError there that lists the ones that
work. Modules: `numpy` (math, reductions, shapes), `nn` (activations, one_hot), `core`
(convert_to_tensor, convert_to_numpy), `data_only` (comparisons, logic, where, shape, ...: data
only); the op layers are in `elementwise_layers`,
`reduction_layers` and `shape_layers`.
"""

from . import nn, numpy
from .core import convert_to_numpy, convert_to_tensor
from .data_more import (
    argsort,
    flip,
    floor_divide,
    isclose,
    linspace,
    mod,
    nan_to_num,
    outer,
    repeat,
    sort,
    tile,
    top_k,
    tril,
    triu,
)
from .data_only import (
    all,
    any,
    broadcast_to,
    ceil,
    cumsum,
    equal,
    floor,
    greater,
    greater_equal,
    isfinite,
    isnan,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logsumexp,
    not_equal,
    ones_like,
    power,
    prod,
    round,
    shape,
    where,
    zeros_like,
)
from .dispatch import DIFFERENTIABLE
from .math_more import (
    arctan,
    cos,
    einsum,
    erf,
    expm1,
    log1p,
    moments,
    norm,
    normalize,
    reciprocal,
    rsqrt,
    sign,
    sin,
    split,
    stop_gradient,
    true_divide,
)
from .nn import (
    elu,
    gelu,
    hard_sigmoid,
    leaky_relu,
    log_softmax,
    one_hot,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    swish,
)
from .numpy import (
    abs,
    absolute,
    add,
    arange,
    argmax,
    argmin,
    cast,
    clip,
    concatenate,
    divide,
    dot,
    exp,
    expand_dims,
    eye,
    full,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    ones,
    reshape,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    subtract,
    sum,
    tanh,
    transpose,
    var,
    zeros,
)

__all__ = [
    "DIFFERENTIABLE", "abs", "absolute", "add", "arange", "argmax", "argmin", "cast", "clip",
    "concatenate", "convert_to_numpy", "convert_to_tensor", "divide", "dot", "exp", "expand_dims",
    "eye", "full", "log", "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum",
    "multiply", "negative", "nn", "numpy", "one_hot", "ones", "relu", "reshape", "sigmoid",
    "softmax", "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum", "tanh",
    "transpose", "var", "zeros",
    # on data only (data_only.py)
    "all", "any", "broadcast_to", "ceil", "cumsum", "equal", "floor", "greater", "greater_equal",
    "isfinite", "isnan", "less", "less_equal", "logical_and", "logical_not", "logical_or",
    "logsumexp", "not_equal", "ones_like", "power", "prod", "round", "shape", "where",
    "zeros_like",
    # more math with graph nodes (math_more.py, nn.py)
    "reciprocal", "rsqrt", "log1p", "expm1", "sin", "cos", "arctan", "erf", "sign",
    "stop_gradient", "true_divide", "einsum", "norm", "normalize", "moments", "split",
    "softplus", "elu", "leaky_relu", "gelu", "silu", "swish", "selu", "relu6", "hard_sigmoid",
    "softsign",
    # more on data only (data_more.py)
    "mod", "floor_divide", "outer", "isclose", "sort", "argsort", "top_k", "flip", "tile",
    "repeat", "triu", "tril", "nan_to_num", "linspace",
]
