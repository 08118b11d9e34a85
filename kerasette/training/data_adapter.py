"""The data adapter: what `fit`, `evaluate`, `predict` and the `*_on_batch` methods accept as x, y and
sample_weight, checked and turned into tensors on the model's device and dtype.

    x  = prepare_x(model, x, "x")                      # a tensor, or a tuple for several inputs
    xt, yt, swt = prepare_xy(model, x, y, sample_weight)

Accepted: NumPy arrays, tensors, nested lists, pandas objects (`kerasette.data.to_tensor`); for
several inputs a list in input order or a dict keyed by input name, and likewise y and
sample_weight per output. Every check (shapes, sample counts, finite values, label ranges for the
loss) runs before anything is returned, so a refused batch changes nothing. An unbuilt model is
built for the first x it sees (Keras's lazy build); if that x is then refused the trainer's
`keeps_unbuilt_on_error` puts the model back unbuilt.
"""

import torch

from ..data import _rows, check_finite, to_tensor
from ..models.targets import prepare_targets
from .structure import _is_array_like, _same_rows, _split_structure


def prepare_x(model, x, name="x"):
    """Validate features, build the model on first data, move to the model's device/dtype.

    Several inputs: `x` is a list / tuple in input order or a dict keyed by input name; the
    result is a tuple of tensors. One input: a tensor (a dict {name: x} or a list [x] too)."""
    if not model.built and isinstance(x, (list, tuple, dict)) and not _is_array_like(x):
        parts = list(x.values()) if isinstance(x, dict) else list(x)
        tensors = [to_tensor(t, f"{name}[{i}]") for i, t in enumerate(parts)]
        _build_for(model, [(None, *t.shape[1:]) for t in tensors], name, tensors[0])
    names = model.input_names if model.built else []
    if model.built and len(names) > 1 or isinstance(x, dict):
        parts = _split_structure(x, model.input_names if model.built else [], name, "input")
        if len(parts) == 1:
            return _prepare_one_x(model, parts[0][1], parts[0][0], 0)
        xs = tuple(_prepare_one_x(model, t, label, k) for k, (label, t) in enumerate(parts))
        _same_rows([(label, t) for (label, _), t in zip(parts, xs)])
        return xs
    if isinstance(x, (list, tuple)) and len(x) == 1 and not _is_array_like(x):
        x = x[0]
    return _prepare_one_x(model, x, name, 0)


def _build_for(model, shape, name, x) -> None:
    try:
        model.build(shape)
    except ValueError as e:  # a layer refused the shape: say which argument gave it
        hint = "; for one feature per sample pass x.reshape(-1, 1)" if x.dim() == 1 else ""
        got = tuple(x.shape) if not isinstance(shape, list) else shape
        raise ValueError(f"Invalid {name}: model '{model.name}' cannot be built for inputs "
                         f"of shape {got} ({e}){hint}") from e


def _prepare_one_x(model, x, name, k: int) -> torch.Tensor:
    x = to_tensor(x, name)
    if not model.built:
        _build_for(model, (None, *x.shape[1:]), name, x)
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    expected = tuple(shapes[k])
    if expected[-1:] == (1,) and tuple(x.shape[1:]) == expected[1:-1]:
        x = x.unsqueeze(-1)  # Keras's rule: an input declared (None, ..., 1) takes x without it
    if len(x.shape) != len(expected) or any(
            e is not None and e != g for e, g in zip(expected[1:], x.shape[1:])):
        raise ValueError(f"Invalid {name}: model '{model.name}' expects inputs of shape "
                         f"{expected}, received {tuple(x.shape)}")
    dtype = model._graph.inputs[k].dtype
    if dtype.is_floating_point:
        x = x.to(device=model._device, dtype=model._dtype)
        check_finite(x, name)
    else:  # index inputs (ks.Input(dtype="int32")) stay integers
        if x.is_floating_point():
            check_finite(x, name)
            if not bool((x == x.round()).all()):
                raise ValueError(f"Invalid {name}: input '{model.input_names[k]}' takes integer "
                                 f"indices, received non-integer values")
        x = x.to(device=model._device, dtype=torch.int64)
    return x


def match_input_rank(model, x: torch.Tensor) -> torch.Tensor:
    """Keras's rule: inputs declared (None, ..., 1) also take x without that last axis (x of
    shape (N,) for ks.Input((1,))); a view with the axis added."""
    expected = tuple(model.input_shape[1:])
    if expected[-1:] == (1,) and tuple(x.shape[1:]) == expected[:-1]:
        return x.unsqueeze(-1)
    return x


def prepare_sample_weight(model, sw, n: int, name="sample_weight"):
    if sw is None:
        return None
    sw = to_tensor(sw, name)
    if sw.dim() == 2 and sw.shape[1] == 1:
        sw = sw[:, 0]
    if sw.dim() != 1 or sw.shape[0] != n:
        raise ValueError(f"Invalid {name}: expected shape ({n},) to match x, received "
                         f"{tuple(sw.shape)}")
    sw = sw.to(device=model._device, dtype=model._dtype)
    check_finite(sw, name)
    if bool((sw < 0).any()):
        raise ValueError(f"Invalid {name}: expected non-negative weights, received negative ones")
    return sw


def prepare_xy(model, x, y, sw=None, names=("x", "y", "sample_weight")):
    """Validated (x, y, sample_weight) on the model's device; tuples for several inputs /
    outputs (y and sample_weight as lists in output order or dicts by output name)."""
    xt = prepare_x(model, x, names[0])
    n = _rows(xt)
    if model.loss is None:  # compiled without a loss: trained by add_loss terms alone, no labels
        if not model._loss_terms:
            from .trainer import NotCompiledError

            raise NotCompiledError("You must call compile(optimizer=..., loss=...) first: model "
                                   f"'{model.name}' adds no loss terms in its call()")
        given = [name for name, v in zip(names[1:], (y, sw)) if v is not None]
        if given:
            raise ValueError(f"Invalid {given[0]}: model '{model.name}' was compiled without a "
                             f"loss (its add_loss terms are the loss), so it takes x only")
        return xt, None, None
    if not model._multi_output:
        if isinstance(y, dict) or isinstance(y, (list, tuple)) and len(y) == 1 and \
                not _is_array_like(y):
            y = _split_structure(y, model.output_names, names[1], "output")[0][1]
        yt = to_tensor(y, names[1])
        if yt.shape[0] != n:
            raise ValueError(f"Invalid {names[1]}: expected {n} samples to match "
                             f"{names[0]}, received {yt.shape[0]}")
        yt = prepare_targets(yt, model.loss, model.output_shape, model._dtype, model._device,
                             names[1])
        return xt, yt, prepare_sample_weight(model, sw, n, names[2])
    parts = _split_structure(y, model.output_names, names[1], "output")
    losses = model._train_loss.losses
    ys = []
    for k, (label, t) in enumerate(parts):
        if t is None:
            if losses[k] is not None:
                raise ValueError(f"Invalid {label}: output '{model.output_names[k]}' has a loss "
                                 f"and needs labels, received None")
            ys.append(None)
            continue
        t = to_tensor(t, label)
        if t.shape[0] != n:
            raise ValueError(f"Invalid {label}: expected {n} samples to match {names[0]}, "
                             f"received {t.shape[0]}")
        ys.append(prepare_targets(t, losses[k], model.output_shape[k], model._dtype,
                                  model._device, label))
    if sw is None:
        return xt, tuple(ys), None
    if isinstance(sw, (list, tuple, dict)) and not _is_array_like(sw):
        sparts = _split_structure(sw, model.output_names, names[2], "output")
        sws = tuple(prepare_sample_weight(model, t, n, label) for label, t in sparts)
    else:  # one array weights every output, as in Keras
        one = prepare_sample_weight(model, sw, n, names[2])
        sws = tuple(one for _ in ys)
    return xt, tuple(ys), sws

