"""Checking labels against the loss and the model's output, once per call, before any training.

Everything here runs on whole arrays once per `fit` / `evaluate`, never per batch.
"""

import numbers

import torch

from .. import losses as L
from ..data import check_finite, to_tensor


def loss_kind(loss) -> str:
    """'sparse', 'categorical', 'binary' or 'regression': what labels the loss expects."""
    if isinstance(loss, L.SparseCategoricalCrossentropy):
        return "sparse"
    if isinstance(loss, (L.CategoricalCrossentropy, L.CategoricalFocalCrossentropy)):
        return "categorical"
    if isinstance(loss, (L.BinaryCrossentropy, L.BinaryFocalCrossentropy)):
        return "binary"
    return "regression"


def prepare_targets(y, loss, output_shape: tuple, dtype, device, name: str = "y") -> torch.Tensor:
    """Validate `y` for `loss` and a model output of `output_shape` (batch dim first, None).

    Returns y on `device`: int64 class indices of shape (N, ...) (the output's shape without its
    class axis) for sparse cross-entropy, else `dtype` with the output's per-sample shape ((N,) is
    accepted for a single output unit and reshaped).
    """
    y = to_tensor(y, name)
    kind = loss_kind(loss)
    # A size the model leaves open (None: a sequence's length) is the labels' own size there.
    per_sample = tuple(y.shape[1 + i] if d is None and y.dim() > 1 + i else d
                       for i, d in enumerate(output_shape[1:]))
    loss_name = getattr(loss, "name", type(loss).__name__)
    if kind == "sparse":
        expected = per_sample[:-1]  # one class index per output row: (N,) for (N, C) outputs
        if tuple(y.shape[1:]) == (*expected, 1):
            y = y[..., 0]
        if tuple(y.shape[1:]) != expected:
            shape = "(N,) or (N, 1)" if not expected else \
                f"{('N', *expected)} or {('N', *expected, 1)}".replace("'", "")
            raise ValueError(f"Invalid {name}: {loss_name} expects integer class indices of shape "
                             f"{shape}, received shape {tuple(y.shape)}; use "
                             f"categorical_crossentropy for one-hot labels")
        if y.is_floating_point():
            check_finite(y, name)
            if not bool((y == y.round()).all()):
                raise ValueError(f"Invalid {name}: {loss_name} expects integer class indices, "
                                 f"received non-integer values")
        y = y.to(torch.int64)
        n_classes = per_sample[-1] if per_sample else None
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or (n_classes is not None and hi >= n_classes):
            raise ValueError(f"Invalid {name}: class indices must lie in [0, {n_classes}) for a model "
                             f"with {n_classes} outputs, received values in [{lo}, {hi}]")
        return y.to(device)

    if kind == "categorical" and per_sample[-1:] == (1,):
        # A softmax over one unit is 1 whatever the input: the loss is always 0 and nothing trains
        # (Keras 3 only warns).
        raise ValueError(f"Invalid loss: {loss_name} needs one output unit per class, received a "
                         f"model output of shape {tuple(output_shape)}, for which the loss is always "
                         f"0; use binary_crossentropy for a single sigmoid unit")
    y = match_trailing_one(y, per_sample)
    if tuple(y.shape[1:]) != per_sample:
        raise ValueError(target_shape_message(y, per_sample, output_shape, kind, loss_name, name))
    # Checked where the labels already are (usually the CPU) before moving them, so a DataLoader
    # feeding a GPU model does not wait on the device for every batch's checks.
    y = y.to(dtype=dtype)
    check_finite(y, name)
    if kind in ("binary", "categorical"):
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"Invalid {name}: {loss_name} expects labels in [0, 1], received "
                             f"values in [{lo}, {hi}]")
    return y.to(device)


def match_trailing_one(y: torch.Tensor, per_sample: tuple) -> torch.Tensor:
    """The target rule (as Keras 3's squeeze_or_expand_to_same_rank, without its broadcast): y whose
    per-sample shape is the output's plus or minus one trailing axis of size 1 is reshaped to the
    output's ((N,) <-> (N, 1), (N, T) <-> (N, T, 1)); any other shape is left for the caller to
    refuse. A view: no copy, no device sync."""
    got = tuple(y.shape[1:])
    if got == per_sample:
        return y
    if got == (*per_sample, 1):
        return y[..., 0]
    if (*got, 1) == per_sample:
        return y[..., None]
    return y


def target_shape_message(y, per_sample: tuple, output_shape: tuple, kind: str, loss_name: str,
                         name: str) -> str:
    """Why a target shape is refused and how to fix it (Keras 3 would broadcast where it can)."""
    n, got = y.shape[0], tuple(y.shape)
    expected = "(N, " + ", ".join(str(d) for d in per_sample) + ")" if per_sample else "(N,)"
    msg = (f"Invalid {name}: expected shape {expected} (per-sample shape {per_sample}, give or take "
           f"one trailing axis of size 1) to match the model output {tuple(output_shape)} for "
           f"{loss_name}, received shape {got}")
    size = 1
    for d in per_sample:
        size *= d or 1
    if tuple(y.shape[1:]) in ((), (1,)) and len(per_sample) == 1 and per_sample[0] > 1:
        if kind == "categorical" and y.dim() == 1:
            return (msg + "; for integer class labels use sparse_categorical_crossentropy, or "
                    "one-hot them with ks.utils.to_categorical(y, num_classes="
                    f"{per_sample[0]})")
        # Keras 3.15 broadcasts an (N, 1) y across the outputs, and an (N,) y against the batch
        # axis (an error unless the batch size equals the units): refused here (README).
        return (msg + f"; one label per sample against {per_sample[0]} outputs is refused rather "
                f"than broadcast (see README, where kerasette differs from Keras 3): give the "
                f"last layer 1 unit for one target per sample, pass y with {per_sample[0]} "
                f"columns (y.repeat if every output should learn the same target), or for class "
                f"labels use sparse_categorical_crossentropy")
    if y.numel() == n * size:
        return msg + f"; y holds {size} values per sample: reshape it to {expected}"
    return msg + "; change the last layer's units (or shape) to match y, or reshape y"


def class_indices(y: torch.Tensor, kind: str) -> torch.Tensor:
    """Integer class of each sample: the label itself, the argmax of one-hot rows, or y > 0.5."""
    if kind == "sparse":
        return y
    if y.dim() == 2 and y.shape[1] > 1:
        return y.argmax(1)
    return (y.reshape(y.shape[0], -1)[:, 0] > 0.5).to(torch.int64)


def class_weight_to_sample_weight(class_weight: dict, y: torch.Tensor, kind: str,
                                  n_outputs: int) -> torch.Tensor:
    """Per-sample weights from a {class: weight} dict; ValueError for keys that are not classes."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"Invalid class_weight: expected a dict {{class index: weight}}, received "
                        f"{type(class_weight).__name__}")
    if y.dim() > (1 if kind == "sparse" else 2):
        raise ValueError(f"Invalid class_weight: it applies to one label per sample, not to targets "
                         f"of shape {tuple(y.shape)} (as in Keras); pass sample_weight instead")
    n_classes = 2 if n_outputs == 1 else n_outputs
    # NumPy integers (np.unique of the labels) and whole floats are class indices too, as in Keras.
    bad = [k for k in class_weight if isinstance(k, bool) or not (
        isinstance(k, numbers.Integral) or isinstance(k, numbers.Real) and float(k).is_integer())
        or not 0 <= k < n_classes]
    if bad:
        raise ValueError(f"Invalid class_weight: keys must be class indices in [0, {n_classes}), "
                         f"received unknown key(s) {bad}")
    bad = [w for w in class_weight.values() if isinstance(w, bool) or not isinstance(
        w, numbers.Real) or not 0 <= w < float("inf")]
    if bad:
        raise ValueError(f"Invalid class_weight: weights must be finite numbers >= 0, received "
                         f"{bad}")
    table = torch.ones(n_classes, dtype=torch.float64)
    for k, w in class_weight.items():
        table[int(k)] = float(w)
    return table.to(y.device)[class_indices(y, kind)]


def degenerate_split_warning(y_train: torch.Tensor, y_val: torch.Tensor, kind: str):
    """A message when a validation slice is degenerate for classification, else None."""
    if kind == "regression":
        return None
    train_classes = set(class_indices(y_train, kind).unique().tolist())
    val_classes = set(class_indices(y_val, kind).unique().tolist())
    if len(val_classes) == 1 and len(train_classes) > 1:
        return (f"validation_split gave a validation set with a single class "
                f"({val_classes.pop()}); the data may be sorted by label: shuffle it before fit, "
                f"or pass validation_data")
    missing = val_classes - train_classes
    if missing:
        return (f"validation_split gave a validation set holding class(es) {sorted(missing)} that the "
                f"training part lacks; shuffle the data before fit, or pass validation_data")
    return None
