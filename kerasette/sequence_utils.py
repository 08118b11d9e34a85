"""`ks.utils.pad_sequences`, `normalize` and `split_dataset` (Keras 3.15's arguments and defaults:
utils/sequence_utils.py, utils/numerical_utils.py, utils/dataset_utils.py)."""

import numbers

import numpy as np
import torch


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """A NumPy array (len(sequences), maxlen) of the sequences padded / truncated to `maxlen`
    (default: the longest). padding / truncating "pre" (default) works at the start, "post" at the
    end. Each sequence's items may themselves be arrays: the result is then
    (n, maxlen, *item shape)."""
    for arg, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"Invalid {arg}: expected 'pre' or 'post', received {v!r}")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(
            maxlen, numbers.Integral) or maxlen < 0):
        raise ValueError(f"Invalid maxlen: expected an int >= 0 or None, received {maxlen!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"Invalid sequences: expected a list of sequences, received "
                         f"{type(sequences).__name__}")
    seqs = []
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(f"Invalid sequences: expected every entry to be a sequence, received "
                             f"{type(s).__name__} at index {i}")
        seqs.append(np.asarray(s.detach().cpu() if isinstance(s, torch.Tensor) else s))
    item_shape = next((s.shape[1:] for s in seqs if len(s)), ())
    if maxlen is None:
        maxlen = max((len(s) for s in seqs), default=0)
    is_str = np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == object
    if isinstance(value, str) and not is_str:
        raise ValueError(f"Invalid value: a string padding value {value!r} needs dtype=object or a "
                         f"string dtype, received dtype={dtype!r}")
    out = np.full((len(seqs), maxlen, *item_shape), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or maxlen == 0:
            continue
        if s.shape[1:] != item_shape:
            raise ValueError(f"Invalid sequences: entry {i} has items of shape {s.shape[1:]}, "
                             f"expected {item_shape} like the others")
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(s)] = s
        else:
            out[i, -len(s):] = s
    return out


def normalize(x, axis=-1, order=2):
    """x divided by its `order`-norm along `axis` (a zero norm leaves zeros). NumPy in -> NumPy out,
    tensor in -> tensor out."""
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ValueError(f"Invalid order: expected a positive int (1 for L1, 2 for L2), received "
                         f"{order!r}")
    if isinstance(x, torch.Tensor):
        t = x if x.is_floating_point() else x.to(torch.get_default_dtype())
        norm = torch.linalg.vector_norm(t, ord=order, dim=axis, keepdim=True)
        return t / torch.where(norm == 0, torch.ones_like(norm), norm)
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None,
                  preferred_backend=None):
    """Two parts of `dataset` (arrays, a tuple of arrays, or a torch Dataset) of `left_size` and
    `right_size` samples: an int is a count, a float in (0, 1) a fraction; one None is the rest,
    both None is 0.5 / 0.5 (as Keras). Arrays give tuples of arrays (a lone array: arrays); a torch
    Dataset gives two `torch.utils.data.Subset`s. Keras returns tf.data Datasets."""
    from torch.utils.data import Dataset, Subset

    arrays = None
    if isinstance(dataset, Dataset):
        n = len(dataset)
    else:
        arrays = list(dataset) if isinstance(dataset, (tuple, list)) and len(dataset) and all(
            hasattr(a, "shape") for a in dataset) else [dataset]
        arrays = [a if isinstance(a, torch.Tensor) else np.asarray(a) for a in arrays]
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError(f"Invalid dataset: expected arrays with the same number of samples, "
                             f"received lengths {[len(a) for a in arrays]}")
    left, right = _split_sizes(n, left_size, right_size)
    order = np.arange(n)
    if shuffle:
        order = np.random.default_rng(seed).permutation(n)
    li, ri = order[:left], order[left:left + right]
    if arrays is None:
        return Subset(dataset, li.tolist()), Subset(dataset, ri.tolist())

    def take(idx):
        parts = tuple(a[torch.as_tensor(idx)] if isinstance(a, torch.Tensor) else a[idx]
                      for a in arrays)
        return parts if len(parts) > 1 or isinstance(dataset, (tuple, list)) else parts[0]

    return take(li), take(ri)


def _split_sizes(n, left_size, right_size):
    def count(size, name):
        if size is None:
            return None
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise TypeError(f"Invalid {name}: expected an int, a float in (0, 1) or None, "
                            f"received {size!r}")
        if isinstance(size, numbers.Integral):
            if not 0 < size <= n:
                raise ValueError(f"Invalid {name}: expected a count in [1, {n}] for a dataset of "
                                 f"{n} samples, received {size}")
            return int(size)
        if not 0 < size < 1:
            raise ValueError(f"Invalid {name}: expected a float in (0, 1), received {size}")
        return int(round(size * n))

    left, right = count(left_size, "left_size"), count(right_size, "right_size")
    if left is None and right is None:
        left = int(round(0.5 * n))
    if left is None:
        left = n - right
    if right is None:
        right = n - left
    if left + right > n or left <= 0 or right <= 0:
        raise ValueError(f"Invalid left_size / right_size: {left_size!r} and {right_size!r} give "
                         f"{left} + {right} samples of {n}; each part needs at least one and they "
                         f"may not exceed the dataset")
    return left, right
