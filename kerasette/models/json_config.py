"""`model.to_json()` / `ks.models.model_from_json`, and `ks.models.clone_model` (Keras 3.15's
models/cloning.py semantics: new layers with fresh weights, nothing compiled)."""

import json

from .saving import architecture, build_from_config, model_class


def to_json(model, **kwargs) -> str:
    """The architecture as a JSON string `{"class_name", "config", ...}` (no weights); kwargs go to
    `json.dumps` (indent=...), as in Keras."""
    arch = architecture(model)
    arch.setdefault("module", "kerasette")  # a user's unregistered class keeps its own
    return json.dumps(arch, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """A new model (fresh weights) from `to_json`'s string; `custom_objects` {name: class} for
    custom layers and models that are not registered."""
    from ..saving import custom_object_scope

    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"Invalid json_string: expected a JSON string from model.to_json(), "
                        f"received {type(json_string).__name__}")
    try:
        arch = json.loads(json_string)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"Invalid json_string: not valid JSON ({e})") from e
    if not isinstance(arch, dict) or not isinstance(arch.get("config"), dict):
        raise ValueError(f"Invalid json_string: expected a model architecture "
                         f'{{"class_name": ..., "config": {{...}}}}, received {json_string!r:.200}')
    with custom_object_scope(custom_objects):
        model = model_class(arch, "json_string").from_config(arch["config"])
        build_from_config(model, arch)
        return model


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A model of the same architecture with new layers and freshly initialised weights.

    Sequential and functional models: each layer is rebuilt by `clone_function(layer)` (default:
    `layer.__class__.from_config(layer.get_config())`; a shared layer is cloned once). A subclassed
    model: `cls.from_config(model.get_config())`. input_tensors, call_function and recursive are
    not supported here (refused when given).
    """
    from ..graph.tracing import defines_call
    from .sequential import Sequential

    for arg, value in (("input_tensors", input_tensors), ("call_function", call_function)):
        if value is not None:
            raise ValueError(f"Invalid {arg}: not supported by kerasette's clone_model, received "
                             f"{value!r}; build the new graph with the model's layers instead")
    if recursive:
        raise ValueError("Invalid recursive: not supported by kerasette's clone_model (nested "
                         "models are cloned whole by clone_function)")
    if kwargs:
        raise TypeError(f"Invalid argument(s) {sorted(kwargs)} for clone_model")
    if clone_function is not None and not callable(clone_function):
        raise TypeError(f"Invalid clone_function: expected a callable taking a layer, received "
                        f"{type(clone_function).__name__}")
    fresh = clone_function or (lambda layer: type(layer).from_config(layer.get_config()))
    if isinstance(model, Sequential):
        config = model.get_config()
        clone = Sequential([fresh(layer) for layer in model.layers], name=config.get("name"))
        if config.get("input_shape") is not None:
            clone.build((None, *config["input_shape"]))
        return clone
    if defines_call(model) or model._graph is None:
        if clone_function is not None:
            raise ValueError(f"Invalid clone_function: only Sequential and functional models can "
                             f"be cloned layer by layer; {type(model).__name__} is a subclassed "
                             f"model")
        clone = type(model).from_config(model.get_config())
        build_from_config(clone, architecture(model))
        return clone
    from ..layers import InputLayer
    from .functional_config import from_graph_config, graph_config, graph_layers

    new_layers = []
    for layer in graph_layers(model):
        if isinstance(layer, InputLayer):  # new inputs, never passed to clone_function (as Keras)
            new_layers.append(type(layer).from_config(layer.get_config()))
            continue
        new = fresh(layer)
        if not hasattr(new, "get_config") or not callable(new):
            raise TypeError(f"Invalid clone_function: expected it to return a layer, received "
                            f"{type(new).__name__} for layer '{layer.name}'")
        new_layers.append(new)
    return from_graph_config(type(model), graph_config(model), layers=new_layers)
