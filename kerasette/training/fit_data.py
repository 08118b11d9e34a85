"""fit's data: the training batches, the steps of an epoch and the validation data, from what
`fit` was given (arrays, tensors, lists or dicts per input / output, or a Dataset / DataLoader /
generator / PyDataset), with `class_weight` and `validation_split` applied as Keras 3 does.

    train, steps, validation_data = fit_batches(model, x, y, sample_weight, class_weight,
                                                validation_split, validation_data, batch_size,
                                                shuffle, steps_per_epoch)

The checks of x, y and sample_weight themselves are data_adapter.py's.
"""

import warnings

import numpy as np

from ..data import ArrayBatches, _index, _rows, is_dataset, split_tail
from ..models.loader_batches import LoaderBatches
from ..models.targets import class_weight_to_sample_weight, degenerate_split_warning, loss_kind


def class_weights(model, class_weight, y):
    """Keras's `class_weight` ({class index: weight}) as per-sample weights for labels `y`, or None.
    Single-output models only, as in Keras 3."""
    if class_weight is None:
        return None
    if y is None:
        raise ValueError("Invalid class_weight: it weights labels, and this model (compiled "
                         "without a loss) takes none")
    if model._multi_output:
        raise ValueError("Invalid class_weight: it applies to models with a single output "
                         "(as in Keras 3); pass sample_weight per output instead")
    return class_weight_to_sample_weight(class_weight, y, loss_kind(model.loss),
                                         int(np.prod(model.output_shape[1:]))).to(model._dtype)


def fit_batches(model, x, y, sample_weight, class_weight, validation_split, validation_data,
                batch_size: int, shuffle: bool, steps_per_epoch):
    """`(train, steps, validation_data)` for `fit`: the training batches, the steps of an epoch
    (None: until a loader runs out) and the validation data, which `validation_split` carves off
    the end of the arrays (before shuffling, as Keras does) unless `validation_data` is given.
    Class weights weight the training part only (Keras's rule)."""
    if is_dataset(x):
        given = [k for k, v in (("y", y), ("sample_weight", sample_weight),
                                ("class_weight", class_weight)) if v is not None]
        if given:
            raise ValueError(f"Invalid {given[0]}: a Dataset/DataLoader yields its own labels "
                             f"and weights (so do a generator and a PyDataset); pass y=None, "
                             f"sample_weight=None and class_weight=None")
        if validation_split:
            raise ValueError("Invalid validation_split: it needs arrays; pass validation_data "
                             "with a Dataset/DataLoader")
        train = LoaderBatches(model, x, batch_size, shuffle, "x")
        return train, steps_per_epoch or (len(train) if train.has_len else None), validation_data
    if x is None or y is None and model.loss is not None:
        raise ValueError(f"Invalid {'x' if x is None else 'y'}: fit needs both x and y "
                         f"arrays (or a Dataset/DataLoader as x)")
    xt, yt, swt = model._prepare_xy(x, y, sample_weight)
    kind = loss_kind(model.loss) if not model._multi_output else "regression"
    cw = class_weights(model, class_weight, yt)
    if validation_split and validation_data is None:  # validation_data wins, as in Keras
        (xt, yt, swt, cw), (xv, yv, swv, _) = split_tail((xt, yt, swt, cw), validation_split)
        if _rows(xt) == 0 or _rows(xv) == 0:
            raise ValueError(f"Invalid validation_split: {validation_split} of "
                             f"{_rows(xt) + _rows(xv)} samples leaves an empty "
                             f"{'training' if _rows(xt) == 0 else 'validation'} set")
        message = degenerate_split_warning(yt, yv, kind)
        if message:  # stacklevel: the user's call of fit (through fit's build-rollback wrapper)
            warnings.warn(message, UserWarning, stacklevel=4)
        validation_data = (xv, yv, swv)
    if cw is not None:
        swt = cw if swt is None else swt * cw
    model._resolve_metrics(_index(yt, slice(0, 1)))
    train = ArrayBatches(xt, yt, swt, batch_size, shuffle, model._shuffle_generator)
    return train, steps_per_epoch or len(train), validation_data
