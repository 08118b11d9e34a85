"""`ks.saving`: registering custom classes and functions for serialization, and Keras 3's
`keras.saving` spellings of save / load (checked against Keras 3.15's saving/object_registration.py).

    @ks.saving.register_keras_serializable(package="my_package")
    class Scale(ks.layers.Layer):
        ...                      # with get_config(), like every saveable layer

    model = ks.saving.load_model("m.kst")                     # found by its registered name
    model = ks.saving.load_model("m.kst", custom_objects={"Scale": Scale})  # or passed in

A registered object is written under `"package>name"` (`"registered_name"` in its config) next to
its class name; an unregistered class with its module's name (`"module"`, as Keras writes it).
Reading looks in the `custom_objects` given (innermost scope first), then in the registered objects,
then in the module a class was written from, then in kerasette's own classes. Nothing here imports
code: only objects the program already defined can be found (a class defined at the top of the
script that saved the model, in that script; any other with custom_objects or registration).
"""

import contextlib
import inspect
import sys

_REGISTERED: dict[str, object] = {}   # "package>name" -> class or function
_NAMES: dict[object, str] = {}        # class or function -> "package>name"
_SCOPES: list[dict] = []              # custom_objects of the enclosing custom_object_scope()s


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Decorator registering a class (with get_config) or function as `"package>name"`; `name`
    defaults to the object's `__name__`."""
    if not isinstance(package, str) or not package:
        raise ValueError(f"Invalid package: expected a non-empty string, received {package!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"Invalid name: expected a non-empty string or None, received {name!r}")

    def decorator(obj):
        if not callable(obj):
            raise TypeError(f"Invalid object: expected a class or function to register, received "
                            f"{type(obj).__name__}")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"Cannot register class {obj.__name__}: it has no get_config() "
                             f"method, so it cannot be written as a config")
        registered = f"{package}>{name if name is not None else obj.__name__}"
        _REGISTERED[registered] = obj
        _NAMES[obj] = registered
        return obj

    return decorator


def get_registered_name(obj) -> str:
    """`"package>name"` for a registered object, else its `__name__` (as Keras)."""
    return _NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects=None):
    """The object known as `name`: from the enclosing custom_object_scope()s, the registered
    objects, `custom_objects`, then `module_objects`; None when nowhere."""
    for scope in reversed(_SCOPES):
        if name in scope:
            return scope[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    for table in (custom_objects, module_objects):
        if table and name in table:
            return table[name]
    return None


def find_custom(*names):
    """The first of `names` (registered name, class name ...; None skipped) that is a custom
    object in scope or registered; None if none is."""
    for n in names:
        if isinstance(n, str):
            obj = get_registered_object(n)
            if obj is not None:
                return obj
    return None


def find_defined(module, class_name, base: type):
    """The class `class_name` defined at the top of `module` when that module is already imported
    (e.g. "__main__", the running script) and the class is a subclass of `base`; else None."""
    if not isinstance(module, str) or not isinstance(class_name, str):
        return None
    obj = getattr(sys.modules.get(module), class_name, None)
    return obj if inspect.isclass(obj) and issubclass(obj, base) else None


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """`with custom_object_scope({"Scale": Scale}):` - deserialization inside finds these names."""
    if custom_objects is None:
        custom_objects = {}
    if not isinstance(custom_objects, dict) or not all(isinstance(k, str) for k in custom_objects):
        raise TypeError(f"Invalid custom_objects: expected a dict {{name: class or function}}, "
                        f"received {type(custom_objects).__name__}")
    _SCOPES.append(dict(custom_objects))
    try:
        yield custom_objects
    finally:
        _SCOPES.pop()


CustomObjectScope = custom_object_scope


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """`keras.saving.load_model`: a model written by `model.save` (see `ks.models.load_model`).
    safe_mode is accepted for Keras's signature: kerasette files never hold code."""
    from .models.saving import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite: bool = True, **kwargs):
    """`keras.saving.save_model(model, filepath)`: same as `model.save(filepath)`."""
    import os

    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"Invalid filepath: {filepath!s} exists and overwrite=False")
    if kwargs:
        raise TypeError(f"Invalid argument(s) {sorted(kwargs)} for save_model")
    model.save(filepath)


__all__ = ["CustomObjectScope", "custom_object_scope", "get_registered_name",
           "get_registered_object", "load_model", "register_keras_serializable", "save_model"]
