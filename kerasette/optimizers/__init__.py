"""Optimizers on flat weight buffers, in order of increasing complexity: SGD, Adagrad, RMSprop,
Adadelta, Adam, AdamW, Adamax, Nadam, Lion, Lamb, Ftrl. Keras 3 names, arguments, defaults and
update rules; each file's docstring gives the rule and how it relates to PyTorch's optimizers.

    opt = kerasette.optimizers.get("adam")      # id, instance, or {"class_name", "config"} dict
    opt.build(model.weights)                    # packs the trainable weights into one flat buffer
    opt.zero_grad(); ...backward...; opt.step()
"""

from ..serialization import class_config
from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .base import Optimizer
from .ftrl import Ftrl
from .lamb import Lamb
from .learning_rate import LearningRate
from .lion import Lion
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

_IDS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
        "adadelta": Adadelta, "adamax": Adamax, "nadam": Nadam, "lion": Lion, "lamb": Lamb,
        "ftrl": Ftrl}


def _lookup(name: str, what: str):
    cls = _IDS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        classes = [c.__name__ for c in _IDS.values()]
        raise ValueError(f"Invalid {what}: unknown optimizer {name!r}; expected one of "
                         f"{sorted(_IDS)} (or the class names {classes})")
    return cls


def serialize(optimizer: Optimizer) -> dict:
    """{"class_name": "Adam", "config": optimizer.get_config()}."""
    return class_config(optimizer, Optimizer, "optimizer", "a kerasette Optimizer")


def deserialize(config: dict) -> Optimizer:
    """Inverse of `serialize` (class names are matched case-insensitively, as ids are)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"Invalid optimizer config: expected a dict with 'class_name' and "
                        f"'config', received {config!r}")
    cls = _lookup(config["class_name"], "optimizer config")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier) -> Optimizer:
    """An optimizer from an id ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta",
    "adamax", "nadam", "lion", "lamb", "ftrl", or a class name),
    a `serialize` dict, an Optimizer class, or an Optimizer instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier, "optimizer")()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    cls = identifier if isinstance(identifier, type) else type(identifier)
    received = cls.__name__
    if cls.__module__.startswith("torch."):  # a PyTorch optimizer needs autograd
        received = (f"PyTorch's {received}, which steps on autograd gradients that kerasette does "
                    f"not make; use a kerasette optimizer (Keras's names and arguments, e.g. "
                    f"ks.optimizers.SGD(learning_rate=0.01))")
    elif cls is identifier:
        received = f"the class {received}, which is not a kerasette Optimizer"
    raise TypeError(f"Invalid optimizer: expected an id string {sorted(_IDS)}, a config dict or an "
                    f"Optimizer, received {received}")


__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adadelta", "Adamax",
           "Nadam", "Lion", "Lamb", "Ftrl", "LearningRate", "schedules", "get", "serialize",
           "deserialize"]
