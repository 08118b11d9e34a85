"""Checks of the arguments fit / evaluate / predict / compile share: each returns the value to use or
raises a ValueError / TypeError naming the argument, before anything changes."""

import numbers
import sys

import numpy as np
import torch

from .. import metrics as metrics_mod
from ..data import check_positive_int


def batch_size_arg(batch_size, name):
    if batch_size is None:
        return 32
    check_positive_int(batch_size, name)
    return int(batch_size)


def nonneg_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Invalid {name}: expected a non-negative int, received {value!r}")
    if value < 0:
        raise ValueError(f"Invalid {name}: expected a non-negative int, received {value!r}")


def verbose_arg(verbose):
    """0, 1 or 2: "auto" is 1 on a terminal, else 2; False / True are 0 / 1, as Keras takes them."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if isinstance(verbose, numbers.Integral) and verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"Invalid verbose: expected 'auto', 0, 1 or 2, received {verbose!r}")


def validation_freq_arg(freq):
    """A predicate on the 1-based epoch number: validate after this epoch?"""
    if isinstance(freq, numbers.Integral) and not isinstance(freq, bool):
        if freq <= 0:
            raise ValueError(f"Invalid validation_freq: expected a positive int or a list of "
                             f"epochs, received {freq!r}")
        return lambda epoch: epoch % freq == 0
    if isinstance(freq, (list, tuple, set)) and all(
            isinstance(e, numbers.Integral) and not isinstance(e, bool) and e > 0 for e in freq):
        chosen = set(int(e) for e in freq)
        return chosen.__contains__
    raise ValueError(f"Invalid validation_freq: expected a positive int or a list of 1-based "
                     f"epochs, received {freq!r}")


def as_list(value, name):
    if value is None:
        return []
    if isinstance(value, dict):
        raise ValueError(f"Invalid {name}: expected a list, received a dict (multi-output models are "
                         f"not supported yet)")
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def unique_name(name: str, taken: set) -> str:
    """`name`, or the first free `name_1`, `name_2`, ...; the result is added to `taken`."""
    unique, i = name, 0
    while unique in taken:
        i += 1
        unique = f"{name}_{i}"
    taken.add(unique)
    return unique


def check_metric_id(ident, arg):
    if ident is None:
        raise TypeError(f"Invalid {arg}: expected metric names, Metric objects or functions, "
                        f"received None in the list")
    if isinstance(ident, str) and ident.lower() in ("accuracy", "acc"):
        return  # resolved from the label shapes at the first data
    metrics_mod.get(ident)


def single_batch_size(x, name="x") -> int:
    """The batch size of `x` for `predict_on_batch`: one array-like batch (an array, tensor, list or
    DataFrame; for several inputs, the first input's), never a generator, Dataset or scalar;
    TypeError naming `name` otherwise."""
    if isinstance(x, (str, bytes, numbers.Number)) or x is None or not hasattr(x, "__len__") \
            or not (isinstance(x, (torch.Tensor, np.ndarray, list, tuple)) or hasattr(x, "__array__")):
        raise TypeError(f"Invalid {name}: predict_on_batch expects one batch as an array, tensor "
                        f"or list, received {type(x).__name__} (use predict for generators and "
                        f"Datasets)")
    return max(1, len(x))
