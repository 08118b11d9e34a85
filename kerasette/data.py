"""Turning user data (NumPy arrays, torch tensors, lists, a Dataset or DataLoader) into batches.

Arrays are validated and moved to the model's device once per `fit`; each epoch draws one index
permutation from a seeded `torch.Generator` (never torch's global RNG) and gathers the rows in that
order a chunk at a time: as many whole batches as fit in `GATHER_BYTES` (at least one), yielded as
slices (views) of the chunk.
"""

import collections.abc
import math
import numbers

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .py_dataset import PyDataset

# How much shuffled data one gather copies (whole batches, at least one). Small batches share a
# gather (one index_select costs a few microseconds, as much as a step of a tiny net spends on its
# matmuls); batches larger than this gather alone, so their rows are still in cache when the first
# layer reads them, and the extra memory stays one chunk, not a second copy of the data set.
GATHER_BYTES = 256 * 1024


def is_dataset(x) -> bool:
    """True for data that yields its own batches: a torch Dataset or DataLoader, a Python generator
    (or other iterator) or a `ks.utils.PyDataset`."""
    return isinstance(x, (Dataset, DataLoader, PyDataset)) or is_generator(x)


def is_generator(x) -> bool:
    """True for a Python generator or any other one-shot iterator (not for arrays or tensors)."""
    return isinstance(x, collections.abc.Iterator) and not isinstance(x, torch.Tensor)


def to_tensor(x, name: str) -> torch.Tensor:
    """A tensor from a NumPy array, tensor, (nested) list, or anything NumPy converts through
    `__array__` (a pandas DataFrame or Series, as Keras accepts); TypeError for non-numeric data.

    Raises ValueError for an empty array or ragged lists. The tensor keeps its device (and is
    detached from any autograd graph); dtype conversion is done later.
    """
    if isinstance(x, torch.Tensor):
        t = x.detach()  # a view, no copy: data that requires grad must not pull fit into autograd
        if t.device.type == "meta":
            raise ValueError(f"Invalid {name}: expected data, received a tensor on the 'meta' device "
                             f"(it has a shape but no values)")
    elif isinstance(x, numbers.Number):
        raise TypeError(f"Invalid {name}: expected an array or tensor, received a scalar {x!r}")
    elif isinstance(x, (np.ndarray, list, tuple)) or hasattr(x, "__array__"):
        try:
            arr = np.asarray(x)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"Invalid {name}: expected samples that all have the same shape, "
                             f"received a {type(x).__name__} that is not rectangular ({e})") from e
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                       or arr.dtype == np.bool_):
            raise TypeError(f"Invalid {name}: expected numeric data, received an array of dtype "
                            f"{arr.dtype}")
        if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:  # long double: torch has no such type
            with np.errstate(over="ignore"):  # beyond float64's range -> inf, refused as non-finite
                arr = arr.astype(np.float64)
        t = torch.from_numpy(np.ascontiguousarray(arr))
    else:
        raise TypeError(f"Invalid {name}: expected a NumPy array, a torch.Tensor, a list, a pandas "
                        f"DataFrame, or a torch Dataset/DataLoader, received {type(x).__name__}")
    if t.dtype in (torch.uint16, torch.uint32):  # few torch ops take these: widen, exactly
        t = t.to(torch.int64)
    elif t.dtype == torch.uint64:
        t = t.to(torch.float64)
    if t.dtype.is_complex or t.dtype == torch.bool and name == "x":
        raise TypeError(f"Invalid {name}: expected real numbers, received dtype {t.dtype}")
    if t.dim() == 0:
        raise ValueError(f"Invalid {name}: expected an array with a batch dimension, received a scalar")
    if t.shape[0] == 0:
        raise ValueError(f"Invalid {name}: expected at least one sample, received an empty array "
                         f"of shape {tuple(t.shape)}")
    return t


def check_finite(t: torch.Tensor, name: str) -> None:
    """ValueError if a float tensor holds NaN or infinite values (names how many and where)."""
    # Fast path: a sum is finite only if every term is (NaN and inf propagate); a finite sum
    # costs one read of the data, no boolean mask. An overflowing sum falls through to the exact check.
    if t.is_floating_point() and not bool(torch.isfinite(t.sum())):
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            first = tuple(int(i) for i in bad.nonzero()[0])
            raise ValueError(f"Invalid {name}: expected finite values, received {int(bad.sum())} "
                             f"NaN or infinite value(s), the first at index {first}")


def check_fits(t: torch.Tensor, dtype: torch.dtype, name: str) -> None:
    """ValueError unless every value of `t` is finite and stays finite once cast to the float
    `dtype` (1e300 in float64 data becomes inf in a float32 model). One reduction where `t` is, so
    a batch still on the host is checked there, before its transfer, without waiting for a device."""
    if t.dtype == torch.bool:
        return
    limit = torch.finfo(dtype).max
    if t.is_floating_point() or limit < 2 ** 63:
        if t.numel() == 0:
            return
        low, high = torch.aminmax(t)  # one read of the data; NaN propagates into both
        if bool((low >= -limit) & (high <= limit)):  # False for NaN, inf and too-large values
            return
        check_finite(t, name)
        big = (t.abs() > limit).nonzero()[0]
        first = tuple(int(i) for i in big)
        raise ValueError(f"Invalid {name}: expected values {str(dtype).removeprefix('torch.')} can "
                         f"hold (|x| <= {limit:.3g}), received {float(t[first]):.6g} at index {first}")


def check_positive_int(value, name: str, allow_none: bool = False) -> None:
    """TypeError unless an int (bools rejected); ValueError unless > 0."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Invalid {name}: expected a positive int, received {value!r}")
    if value <= 0:
        raise ValueError(f"Invalid {name}: expected a positive int, received {value!r}")


def split_tail(arrays, fraction: float):
    """Split each array (or None) into (head, tail) where tail is the last `fraction` of samples.

    Keras's rule for `validation_split`: the split is taken before any shuffling.
    """
    n = _rows(arrays[0])
    n_val = int(math.floor(n * fraction))
    n_train = n - n_val
    head = tuple(_index(a, slice(None, n_train)) for a in arrays)
    tail = tuple(_index(a, slice(n_train, None)) for a in arrays)
    return head, tail


class ArrayBatches:
    """Batches of (x, y, sample_weight) tensors already on the right device.

    `epoch(steps)` yields `steps` batches (default: one pass over the data). With `steps` set, the
    stream continues where the previous epoch stopped and reshuffles each time it wraps around.
    """

    def __init__(self, x, y, sample_weight, batch_size: int, shuffle: bool,
                 generator: torch.Generator | None = None):
        self.x, self.y, self.sw = x, y, sample_weight  # tensors, or tuples of them (several
        self.n = _rows(x)                               # inputs / outputs)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self._pending = iter(())  # batches left from a partial pass (steps_per_epoch)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def _one_pass(self):
        x, y, sw, bs = self.x, self.y, self.sw, self.batch_size
        if not (self.shuffle and self.n > 1):
            yield from _batches(x, y, sw, self.n, bs)
            return
        # One seeded permutation on the CPU, gathered a chunk of whole batches at a time.
        first = x[0] if isinstance(x, tuple) else x
        perm = torch.randperm(self.n, generator=self.generator).to(first.device)
        chunk = bs * max(1, GATHER_BYTES // max(1, bs * _row_bytes(x, y, sw)))
        for lo in range(0, self.n, chunk):
            rows = perm[lo:lo + chunk]
            gathered = _index(x, rows), _index(y, rows), _index(sw, rows)
            if chunk == bs:
                yield gathered
            else:
                yield from _batches(*gathered, rows.shape[0], bs)

    def epoch(self, steps: int | None = None):
        if steps is None:
            yield from self._one_pass()
            return
        for _ in range(steps):
            batch = next(self._pending, None)
            if batch is None:
                self._pending = self._one_pass()
                batch = next(self._pending)
            yield batch


def _batches(x, y, sw, n: int, bs: int):
    """Consecutive batches of `bs` rows (the last one may be short), as views."""
    if not isinstance(x, tuple) and not isinstance(y, tuple) and not isinstance(sw, tuple):
        for start in range(0, n, bs):  # one input and one output: plain slices
            stop = start + bs
            yield (x[start:stop], None if y is None else y[start:stop],
                   None if sw is None else sw[start:stop])
        return
    for start in range(0, n, bs):
        window = slice(start, start + bs)
        yield _index(x, window), _index(y, window), _index(sw, window)


def _index(a, idx):
    """a[idx] for a tensor, a tuple of tensors (several inputs or outputs; None entries kept), or
    None. Rows given as an integer index tensor are taken with index_select, several times faster
    than advanced indexing."""
    if a is None:
        return None
    if isinstance(idx, torch.Tensor) and not idx.is_floating_point() and idx.dtype != torch.bool:
        def take(t):
            return t.index_select(0, idx)
    else:
        def take(t):
            return t[idx]
    if isinstance(a, tuple):
        return tuple(None if t is None else take(t) for t in a)
    return take(a)


def _rows(a) -> int:
    return (a[0] if isinstance(a, tuple) else a).shape[0]


def _row_bytes(*arrays) -> int:
    """Bytes of one row across tensors, tuples of tensors and Nones."""
    total = 0
    for a in arrays:
        for t in a if isinstance(a, tuple) else (a,):
            if t is not None and t.shape[0]:
                total += t.numel() // t.shape[0] * t.element_size()
    return total


def unpack_batch(batch):
    """(x, y, sample_weight) from a Dataset item: (x, y) or (x, y, w); a lone x gives (x, None, None)."""
    if isinstance(batch, (list, tuple)):
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return tuple(batch)
        if len(batch) == 1:
            return batch[0], None, None
        raise ValueError(f"Invalid batch: expected (x, y) or (x, y, sample_weight), received a "
                         f"{type(batch).__name__} of length {len(batch)}")
    return batch, None, None
