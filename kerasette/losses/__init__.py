"""Losses (Keras 3 names): each gives its value and its gradient w.r.t. the predictions, by hand.

    loss = ks.losses.get("mse")                        # or MeanSquaredError(), or a config dict
    value = loss(y_true, y_pred, sample_weight=None)   # 0-d tensor (Keras API)
    value, backward = loss.forward(y_true, y_pred)     # what the model uses
    dy_pred = backward()                               # dL/dy_pred, y_pred's shape

The reductions ("sum_over_batch_size", "sum", None) follow Keras: see `losses.base`.
"""

import inspect

from .base import REDUCTIONS, Loss
from .binary import BinaryCrossentropy
from .categorical import CategoricalCrossentropy, SparseCategoricalCrossentropy
from .focal import BinaryFocalCrossentropy, CategoricalFocalCrossentropy
from .function_loss import FunctionLoss
from .functions import (
    KLD,
    LOSS_OF_FUNCTION,
    MAE,
    MAPE,
    MSE,
    MSLE,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    kld,
    kullback_leibler_divergence,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from .hinge import CategoricalHinge, Hinge, SquaredHinge
from .regression import Huber, MeanAbsoluteError, MeanSquaredError
from .regression_more import (
    LogCosh,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
)
from .similarity import CosineSimilarity, KLDivergence

_CLASSES = (MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, Hinge, SquaredHinge,
            CategoricalHinge, LogCosh, KLDivergence, Poisson, CosineSimilarity,
            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, BinaryFocalCrossentropy,
            CategoricalFocalCrossentropy)

# String ids (Keras 3.16's): the function names, their Keras 2 aliases, the class names.
_REGISTRY = {
    "huber_loss": Huber,
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    **{fn.__name__: cls for fn, cls in LOSS_OF_FUNCTION.items()},
    **{alias: LOSS_OF_FUNCTION[fn] for alias, fn in (
        ("mse", mse), ("MSE", mse), ("mae", mae), ("MAE", mae), ("mape", mape), ("MAPE", mape),
        ("msle", msle), ("MSLE", msle), ("kld", kld), ("KLD", kld),
        ("kullback_leibler_divergence", kld), ("logcosh", logcosh))},
    **{cls.__name__: cls for cls in _CLASSES},
    "FunctionLoss": FunctionLoss,  # a user's function: from_config finds it by its name
}


def get(identifier) -> Loss:
    """A loss from a string id, a Loss (returned as is), a Loss subclass (instantiated with its
    defaults), one of the loss functions here (`ks.losses.categorical_crossentropy` gives a
    CategoricalCrossentropy(), so training uses its hand-written gradient and the fused
    sigmoid / softmax path) or a config dict `{"class_name": ..., "config": {...}}`."""
    if isinstance(identifier, Loss):
        return identifier
    if callable(identifier) and not isinstance(identifier, type):
        cls = LOSS_OF_FUNCTION.get(identifier)
        if cls is not None:
            return cls()
        if inspect.isfunction(identifier):  # the user's function of ks.ops: traced (function_loss)
            return FunctionLoss(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        from ..saving import find_custom

        custom = find_custom(identifier)
        if inspect.isfunction(custom):
            return FunctionLoss(custom)
        cls = _custom_loss(custom) or _REGISTRY.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown loss: {identifier!r}; expected one of "
                             f"{sorted(_REGISTRY)} or a Loss instance")
        return cls()
    if isinstance(identifier, dict):
        from ..saving import find_custom, find_defined

        cls = _custom_loss(find_custom(identifier.get("registered_name"),
                                       identifier.get("class_name"))) \
            or find_defined(identifier.get("module"), identifier.get("class_name"), Loss) \
            or _REGISTRY.get(identifier.get("class_name"))
        config = identifier.get("config", {})
        if cls is None or not isinstance(config, dict):
            raise ValueError(f"Invalid loss config: expected {{'class_name': one of "
                             f"{sorted(_REGISTRY)}, a class registered with "
                             f"ks.saving.register_keras_serializable or a key of custom_objects, "
                             f"'config': dict}}, received {identifier!r}")
        return cls.from_config(config)
    raise TypeError(f"Invalid loss: expected a string id, a Loss or a config dict, "
                    f"received {_describe(identifier)}")


def _custom_loss(obj):
    """A registered / custom_objects Loss subclass, else None (functions cannot train here)."""
    return obj if isinstance(obj, type) and issubclass(obj, Loss) else None


# PyTorch's loss modules and the same loss here (kerasette cannot call them: no autograd).
_PYTORCH_EQUIVALENTS = {
    "MSELoss": "'mse'", "L1Loss": "'mae'", "HuberLoss": "'huber'", "BCELoss": "'binary_crossentropy'",
    "BCEWithLogitsLoss": "ks.losses.BinaryCrossentropy(from_logits=True)",
    "CrossEntropyLoss": "ks.losses.SparseCategoricalCrossentropy(from_logits=True)",
}


def _describe(identifier) -> str:
    """What was received, and why kerasette cannot train on a function (Keras can: it has autograd)."""
    is_class = isinstance(identifier, type)
    cls = identifier if is_class else type(identifier)
    why = ("; kerasette writes each loss's gradient by hand and has no autograd to differentiate "
           "it. Use a built-in loss, or subclass ks.losses.Loss and write the value and its "
           "gradient (as ks.losses.MeanSquaredError does)")
    if cls.__module__.startswith("torch."):
        same = _PYTORCH_EQUIVALENTS.get(cls.__name__)
        return f"PyTorch's {cls.__name__}{why}" + (f"; the same loss here is {same}" if same else "")
    if is_class:
        return f"the class {cls.__name__}, which is not a kerasette Loss"
    if callable(identifier):
        return f"the function {getattr(identifier, '__name__', cls.__name__)}{why}"
    return cls.__name__


def serialize(loss: Loss) -> dict:
    """`{"class_name": ..., "config": ...}`; `get` turns it back into the loss. A user's class
    adds `"registered_name"` when registered with ks.saving, else its `"module"` (as Keras): read
    back from custom_objects, the registry, or that module if the program has it loaded."""
    if not isinstance(loss, Loss):
        raise TypeError(f"Invalid loss: expected a Loss, received {type(loss).__name__}")
    from ..saving import _NAMES

    registered = _NAMES.get(type(loss))
    spec = {"class_name": type(loss).__name__, "config": loss.get_config()}
    if registered is not None:
        spec["registered_name"] = registered
    elif type(loss) not in (*_CLASSES, FunctionLoss):
        spec["module"] = type(loss).__module__
    return spec


def deserialize(config: dict) -> Loss:
    """The inverse of `serialize` (same as `get(config)`)."""
    if not isinstance(config, dict):
        raise TypeError(f"Invalid loss config: expected a dict, received {type(config).__name__}")
    return get(config)


__all__ = [
    "REDUCTIONS", "Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge", "SquaredHinge",
    "CategoricalHinge", "LogCosh", "KLDivergence", "Poisson", "CosineSimilarity",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy", "FunctionLoss", "get", "serialize", "deserialize",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "cosine_similarity", "hinge",
    "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "sparse_categorical_crossentropy", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
    "kld", "KLD", "kullback_leibler_divergence", "logcosh",
]
