"""Conversions and dtypes for `ks.ops`: `convert_to_tensor`, `convert_to_numpy`, `cast`.

As Keras's torch backend does, ops return torch tensors. Python ints become int32 tensors and
Python floats floatx tensors (Keras 3's defaults); NumPy arrays keep their dtype; tensors are
returned as they are (on their device). `named_op` names the ops that the op modules make from a
table.
"""

import numbers

import numpy as np
import torch

from .. import config
from ..graph.symbolic import is_symbolic
from ..graph.tracing import tracing
from ..layers.base import Weight
from ..optimizers.learning_rate import LearningRate

_NAMES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
          "float64": torch.float64, "int8": torch.int8, "int16": torch.int16,
          "int32": torch.int32, "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool,
          "complex64": torch.complex64, "complex128": torch.complex128}


def standardize_dtype(dtype, arg: str = "dtype"):
    """A torch dtype from a name ("float32"), a torch dtype, a NumPy dtype or a Python type;
    None stays None. "float" and "int" mean floatx and int32, as in Keras."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype is float or dtype == "float":
        return config.floatx_dtype()
    if dtype is int or dtype == "int":
        return torch.int32
    if dtype is bool:
        return torch.bool
    try:
        name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    except TypeError:
        name = None
    if name == "bfloat16" or name in _NAMES:
        return _NAMES[name]
    raise ValueError(f"Invalid {arg}: expected a dtype name such as 'float32' or 'int32' (one of "
                     f"{sorted(_NAMES)}), received {dtype!r}")


def _infer(x):
    """Keras's dtype for Python data: bool, int32 for ints, floatx for floats."""
    flat = np.asarray(x)
    if flat.dtype == bool:
        return torch.bool
    if np.issubdtype(flat.dtype, np.integer):
        return torch.int32
    if np.issubdtype(flat.dtype, np.floating):
        return config.floatx_dtype()
    if np.issubdtype(flat.dtype, np.complexfloating):
        return torch.complex64
    raise TypeError(f"Invalid x: expected numbers (a number, nested lists, an array or a tensor), "
                    f"received {type(x).__name__} of NumPy dtype {flat.dtype}")


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """`x` as a torch tensor (of `dtype` if given). Tensors keep their device."""
    if sparse or ragged:
        raise ValueError("Invalid sparse/ragged: kerasette has dense tensors only, received "
                         f"sparse={sparse!r}, ragged={ragged!r}")
    dtype = standardize_dtype(dtype)
    if is_symbolic(x):
        raise TypeError(f"Invalid x: convert_to_tensor needs data, received the symbolic tensor "
                        f"{x!r} (it has a value only when the model runs)")
    if isinstance(x, Weight) and tracing() is not None:
        raise TypeError(
            f"Invalid x: '{tracing().name}'.call() uses the weight '{x.name}' through an op that "
            f"would read its value once, as a constant that never trains (call() is traced once, "
            f"on symbolic tensors). Give the weight to the ks.ops that build graph nodes "
            f"(ks.ops.DIFFERENTIABLE), to the operators + - * / @ ** or to a layer; for other "
            f"math on it write forward(x) -> (y, backward) in the layer")
    if isinstance(x, (LearningRate, Weight)) or isinstance(getattr(x, "value", None), torch.Tensor):
        x = x.value  # variables: a weight, the learning rate, a metric's variable
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(dtype)
    if isinstance(x, np.ndarray | np.generic):
        t = torch.as_tensor(np.ascontiguousarray(x))
        return t if dtype is None else t.to(dtype)
    if isinstance(x, (numbers.Number, list, tuple)):
        if isinstance(x, (list, tuple)) and any(isinstance(e, torch.Tensor) for e in x):
            stacked = torch.stack([convert_to_tensor(e) for e in x])
            return stacked if dtype is None else stacked.to(dtype)
        return torch.tensor(x, dtype=dtype or _infer(x))
    raise TypeError(f"Invalid x: expected a tensor, an array, a number or nested lists of numbers, "
                    f"received {type(x).__name__}")


def convert_to_numpy(x) -> np.ndarray:
    """`x` as a NumPy array (a copy on the host for a tensor)."""
    if is_symbolic(x):
        raise TypeError(f"Invalid x: convert_to_numpy needs data, received the symbolic tensor "
                        f"{x!r}")
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (LearningRate, Weight)) or callable(getattr(x, "numpy", None)):
        return np.asarray(x.numpy())
    return np.asarray(x)


def tensor(x) -> torch.Tensor:
    """Operands of the ops: tensors as they are, everything else through convert_to_tensor
    (variables give their value tensor)."""
    return x if isinstance(x, torch.Tensor) else convert_to_tensor(x)


def float_tensor(x) -> torch.Tensor:
    """As `tensor`, with integer and bool data cast to floatx (for exp, mean, ...)."""
    t = tensor(x)
    return t if t.is_floating_point() or t.is_complex() else t.to(config.floatx_dtype())


def binary_op(name: str, torch_fn, doc: str, route):
    """The public op `name(x1, x2)`: `route(name, x1, x2, concrete)` (kerasette/ops/dispatch.py)
    computes `torch_fn` on data or records a graph node on symbolic operands."""
    def op(x1, x2):
        return route(name, x1, x2, lambda a, b: torch_fn(tensor(a), tensor(b)))
    return named_op(op, name, doc)


def named_op(op, name: str, doc: str):
    """`op` as the public function `name` with the docstring `doc` (for an op a factory made)."""
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op
