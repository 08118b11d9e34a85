"""Saving and loading models and weights without pickled code.

A model file is one `torch.save` of plain data: the architecture as a JSON string, the weights as
tensors, the compile settings as JSON and the optimizer state as tensors and numbers. Loading uses
`torch.load(weights_only=True)`, which refuses any pickle that would construct arbitrary objects, so a
crafted file cannot run code. Writes go to a temporary file in the target folder and are moved into
place with `os.replace`, so a crash never leaves a half-written file.
"""

import json

import torch

from .. import losses, metrics, optimizers
from ..io_utils import atomic_save, check_filepath, load_plain
from ..layers.weight_values import assign_all
from ..sizes import allocation_budget

MODEL_FORMAT = "kerasette.model"
WEIGHTS_FORMAT = "kerasette.weights"
VERSION = 1
_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
           "float64": torch.float64}


def save_model(model, path) -> None:
    """Architecture + weights + compile settings + optimizer state in one file."""
    path = check_filepath(path)
    model._require_built("save")
    arch = architecture(model)
    payload = {
        "format": MODEL_FORMAT,
        "version": VERSION,
        "config": json.dumps(arch),
        "dtype": str(model.dtype).removeprefix("torch."),
        **_weights_payload(model),
        "compile": None,
        "optimizer_state": None,
    }
    if model.compiled:
        payload["compile"] = json.dumps({
            "optimizer": optimizers.serialize(model.optimizer),
            "loss": _map(model._loss_spec, losses.serialize),
            "loss_weights": model._loss_weights_spec,
            "metrics": _map(model._metric_spec, _metric_id),
            "weighted_metrics": _map(model._weighted_spec, _metric_id),
        })
        if getattr(model.optimizer, "buffer", None) is not None:
            payload["optimizer_state"] = _to_cpu(model.optimizer.get_state())
    atomic_save(payload, path)


def load_model(path, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Rebuild a model saved by `model.save` (compiled, with its optimizer state, if it was).

    custom_objects: {name: class or function} for custom layers, models, losses and metrics not
    registered with ks.saving.register_keras_serializable (Keras 3's argument). safe_mode is
    accepted for Keras's signature: a kerasette file never holds code."""
    from ..saving import custom_object_scope

    with custom_object_scope(custom_objects):
        return _load_model(path, compile)


def _load_model(path, compile: bool):
    payload = _load(path)
    _check_format(payload, MODEL_FORMAT, path)
    _, values = _stored_weights(payload, path)
    arch = _architecture(payload, path)
    cls = model_class(arch, f"model file {path!s}")
    # Built within the size of the stored tensors: a file that declares more refuses to build.
    with allocation_budget(sum(v.numel() for v in values), f"the tensors stored in {path!s}"):
        try:
            model = cls.from_config(arch["config"])
            build_from_config(model, arch)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
            raise ValueError(f"Invalid model file {path!s}: its architecture cannot be built "
                             f"({type(e).__name__}: {e})") from e
    if payload.get("dtype") in _DTYPES:  # the saved model's float type, whatever floatx is now
        model.to(_DTYPES[payload["dtype"]])
    _assign_weights(model, payload, path)
    if compile and payload.get("compile"):
        try:
            settings = json.loads(payload["compile"])
            model.compile(optimizer=optimizers.get(settings["optimizer"]),
                          loss=_map(settings["loss"], losses.get, leaf=dict),
                          loss_weights=settings.get("loss_weights"),
                          metrics=settings["metrics"], weighted_metrics=settings["weighted_metrics"])
            if payload.get("optimizer_state") is not None:
                model.optimizer.set_state(payload["optimizer_state"])
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as e:
            raise ValueError(f"Invalid model file {path!s}: its compile settings or optimizer "
                             f"state cannot be restored ({type(e).__name__}: {e})") from e
    return model


def model_class(arch: dict, where: str) -> type:
    """The Model class an architecture `{"class_name": ..., "config": ...}` names: Sequential,
    Model / Functional, or a subclass found among custom objects (ks.saving) or registered layers."""
    from .. import layers as layers_mod
    from ..saving import find_custom, find_defined
    from .model import Model
    from .sequential import Sequential

    classes = {"Sequential": Sequential, "Model": Model, "Functional": Model}
    cls = find_custom(arch.get("registered_name"), arch.get("class_name")) or find_defined(
        arch.get("module"), arch.get("class_name"), Model)
    if cls is None:
        cls = classes.get(arch.get("class_name"))
    if cls is None:  # a subclassed model registered with kerasette.layers.register
        try:
            cls = layers_mod.get(arch.get("class_name"))
        except (TypeError, ValueError):
            cls = None
    if not isinstance(cls, type) or not issubclass(cls, Model):
        raise ValueError(f"Invalid {where}: unknown model class {arch.get('class_name')!r}; "
                         f"expected one of {sorted(classes)}, a model class registered with "
                         f"ks.saving.register_keras_serializable, or a key of custom_objects")
    return cls


def build_from_config(model, arch: dict) -> None:
    """Build a rebuilt subclassed model for the input shape stored with it (Keras's
    build_config), so its weights exist."""
    shape = (arch.get("build_config") or {}).get("input_shape")
    if model.built or shape is None:
        return
    model.build([tuple(s) for s in shape] if shape and isinstance(shape[0], list) else tuple(shape))


def architecture(model) -> dict:
    """`{"class_name", "config"[, "registered_name"]}` of a model (as saved and in to_json)."""
    from ..graph.tracing import defines_call
    from ..saving import _NAMES

    try:
        config = model.get_config()
    except NotImplementedError as e:
        raise ValueError(f"Invalid model: {e}") from e
    arch = {"class_name": type(model).__name__, "config": config}
    if model.built and defines_call(model):  # a subclassed model is rebuilt for these shapes
        shape = model.input_shape
        arch["build_config"] = {"input_shape": [list(s) for s in shape]
                                if isinstance(shape, list) else list(shape)}
    if type(model) in _NAMES:
        arch["registered_name"] = _NAMES[type(model)]
    elif not type(model).__module__.startswith("kerasette."):  # found there when read back
        arch["module"] = type(model).__module__
    return arch


def save_weights(model, path) -> None:
    """Only the weights (with their names and shapes)."""
    path = check_filepath(path)
    model._require_built("save_weights")
    atomic_save({"format": WEIGHTS_FORMAT, "version": VERSION, **_weights_payload(model)}, path)


def load_weights(model, path) -> None:
    """Weights saved by `save_weights` or `save`; every name and shape is checked before any copy."""
    payload = _load(path)
    if not isinstance(payload, dict) or payload.get("format") not in (WEIGHTS_FORMAT, MODEL_FORMAT):
        raise ValueError(f"Invalid weights file {path!s}: not a kerasette weights or model file")
    _assign_weights(model, payload, path)


# ----- helpers ---------------------------------------------------------------------------------
def _load(path):
    """`load_plain`: a clear ValueError for a file holding anything but tensors and plain data."""
    return load_plain(path, "model.save / model.save_weights")


def _weights_payload(model) -> dict:
    return {"weight_names": [w.name for w in model.weights],
            "weights": [w.value.detach().cpu().clone() for w in model.weights]}


def _stored_weights(payload, path):
    """(names, tensors) stored in a file, checked to be lists of strings and of real tensors."""
    names, values = payload.get("weight_names", []), payload.get("weights", [])
    if not isinstance(names, (list, tuple)) or not isinstance(values, (list, tuple)) or \
            len(names) != len(values) or not all(isinstance(n, str) for n in names) or \
            not all(isinstance(v, torch.Tensor) and v.is_floating_point() for v in values):
        raise ValueError(f"Invalid weights file {path!s}: expected a list of weight names and a "
                         f"list of float tensors of the same length")
    return list(names), list(values)


def _architecture(payload, path) -> dict:
    config = payload.get("config")
    try:
        arch = json.loads(config) if isinstance(config, str) else None
    except (ValueError, RecursionError) as e:
        raise ValueError(f"Invalid model file {path!s}: its architecture is not valid JSON "
                         f"({e})") from e
    if not isinstance(arch, dict) or not isinstance(arch.get("config"), dict):
        raise ValueError(f"Invalid model file {path!s}: expected an architecture "
                         f'{{"class_name": ..., "config": {{...}}}}, received {config!r:.200}')
    return arch


def _assign_weights(model, payload, path) -> None:
    names, values = _stored_weights(payload, path)
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built: build it (or fit / predict once) "
                         f"before loading weights from {path!s}")
    targets = model.weights
    for i, w in enumerate(targets):
        if i >= len(values):
            raise ValueError(f"Invalid weights file {path!s}: it holds {len(values)} weights; the "
                             f"model needs {len(targets)} (first missing: '{w.name}' {w.shape})")
        if tuple(values[i].shape) != w.shape:
            raise ValueError(f"Invalid weights file {path!s}: weight {i} ('{names[i]}' in the file) "
                             f"has shape {tuple(values[i].shape)}, but the model's '{w.name}' "
                             f"expects {w.shape}")
    if len(values) != len(targets):
        raise ValueError(f"Invalid weights file {path!s}: it holds {len(values)} weights, the model "
                         f"has {len(targets)} (first extra: '{names[len(targets)]}')")
    # every value checked (finite, fits the dtype) before the first is copied
    assign_all(targets, values, f"model '{model.name}'", arg=f"weights file {path!s}")


def _check_format(payload, expected, path) -> None:
    if not isinstance(payload, dict) or payload.get("format") != expected:
        raise ValueError(f"Invalid model file {path!s}: not a kerasette model (format "
                         f"{payload.get('format') if isinstance(payload, dict) else None!r})")
    if payload.get("version", 0) > VERSION:
        raise ValueError(f"Invalid model file {path!s}: format version {payload['version']} is newer "
                         f"than this kerasette understands ({VERSION})")


def _map(spec, fn, leaf=None):
    """`fn` applied to every entry of a compile argument kept as given: one value, a list (of
    lists) or a dict by output name. `leaf`: a type that is an entry, not a structure."""
    if spec is None:
        return None
    if leaf is not None and isinstance(spec, leaf) and "class_name" in spec:
        return fn(spec)
    if isinstance(spec, dict):
        return {k: _map(v, fn, leaf) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_map(v, fn, leaf) for v in spec]
    return fn(spec)


def _metric_id(ident):
    return ident if isinstance(ident, str) else metrics.serialize(ident)


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_cpu(v) for v in obj]
    return obj
