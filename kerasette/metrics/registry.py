"""Resolving metric identifiers (`get`) and saving / restoring metrics (`serialize`, `deserialize`).

A metric made from a string is named exactly by that string, so logs keys match what the user
wrote: metrics=["acc"] logs "acc" and "val_acc", metrics=["mse"] logs "mse".
"""

import re

from .. import losses as L
from ..serialization import class_config
from . import loss_metrics as LM
from .base import Mean, MeanMetricWrapper, Metric, Sum
from .confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from .f_score import F1Score, FBetaScore
from .functions import (
    BinaryAccuracy,
    CategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    SparseCategoricalAccuracy,
    binary_accuracy,
    categorical_accuracy,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_accuracy,
)
from .r2 import R2Score
from .top_k import (
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)

_LOSS_METRICS = (
    LM.MeanAbsolutePercentageError, LM.MeanSquaredLogarithmicError, LM.LogCoshError,
    LM.CosineSimilarity, LM.BinaryCrossentropy, LM.CategoricalCrossentropy,
    LM.SparseCategoricalCrossentropy, LM.KLDivergence, LM.Poisson, LM.Hinge, LM.SquaredHinge,
    LM.CategoricalHinge)

CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, MeanMetricWrapper, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
    RootMeanSquaredError, MeanAbsoluteError, Precision, Recall, AUC, TruePositives,
    FalsePositives, TrueNegatives, FalseNegatives, F1Score, FBetaScore, R2Score,
    *_LOSS_METRICS)}

FUNCTIONS = {f.__name__: f for f in (
    binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, mean_squared_error,
    mean_absolute_error, top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
    LM.cosine_similarity, L.mean_absolute_percentage_error, L.mean_squared_logarithmic_error,
    L.log_cosh, L.huber, L.binary_crossentropy, L.categorical_crossentropy,
    L.sparse_categorical_crossentropy, L.kl_divergence, L.poisson, L.hinge, L.squared_hinge,
    L.categorical_hinge, L.binary_focal_crossentropy, L.categorical_focal_crossentropy)}

# Mean / Sum (update_state(values, sample_weight)) and the wrapper (needs a function) are not
# y_true / y_pred metrics, so no string names them; deserialize still rebuilds them.
_BY_CLASS_NAME = {n: c for n, c in CLASSES.items() if c not in (Mean, Sum, MeanMetricWrapper)}



def _keras_snake(name: str) -> str:
    """Keras's `to_snake_case`: TopKCategoricalAccuracy -> top_k_categorical_accuracy."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# string id -> metric class (instantiated with name=<the string>): Keras 3.16's ids, i.e. the
# snake_case class names, the function names and the short aliases.
_IDS = {
    **{_keras_snake(n): c for n, c in _BY_CLASS_NAME.items()},
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": LM.MeanAbsolutePercentageError, "MAPE": LM.MeanAbsolutePercentageError,
    "msle": LM.MeanSquaredLogarithmicError, "MSLE": LM.MeanSquaredLogarithmicError,
    "bce": LM.BinaryCrossentropy, "BCE": LM.BinaryCrossentropy,
    "logcosh": LM.LogCoshError, "log_cosh": LM.LogCoshError,
    "fbeta_score": FBetaScore,
}
_SHAPE_DEPENDENT = ("accuracy", "acc")


def valid_ids() -> list[str]:
    """Every string `get` accepts (class names such as "Precision" too)."""
    return sorted(_IDS) + list(_SHAPE_DEPENDENT) + sorted(_BY_CLASS_NAME)


def _shape(x, what: str) -> tuple:
    """A shape from a tensor/array (its .shape), or a tuple / torch.Size of ints taken as one."""
    if hasattr(x, "shape"):
        return tuple(x.shape)
    if isinstance(x, tuple) and all(isinstance(d, int) or d is None for d in x):
        return x
    raise TypeError(f"Invalid {what}: expected a tensor, an array or a shape tuple, "
                    f"received {type(x).__name__}")


def accuracy_kind(y_true, y_pred) -> str:
    """'binary', 'sparse' or 'categorical' accuracy for these labels / predictions (or shapes),
    as Keras 3's compile utils: y_pred with last axis 1 (or rank 1) -> binary; y_true of lower rank
    than y_pred, or with last axis 1 while y_pred's is > 1 -> sparse; else categorical."""
    t, p = _shape(y_true, "y_true"), _shape(y_pred, "y_pred")
    if len(p) <= 1 or p[-1] == 1:
        return "binary"
    if len(t) < len(p) or (len(t) > 0 and t[-1] == 1):
        return "sparse"
    return "categorical"


def get(identifier, y_true=None, y_pred=None):
    """Resolve a metric identifier to a `Metric` (a new one, except for a Metric instance).

    - a string: an id from `valid_ids()`; the metric's name is the string itself. "accuracy" and
      "acc" (any case) need `y_true` and `y_pred` (tensors or shapes) to pick binary / sparse /
      categorical accuracy (see `accuracy_kind`).
    - a `Metric` instance: returned as is; a Metric subclass: instantiated with defaults.
    - a function `f(y_true, y_pred) -> (N,) per-sample values`: wrapped in a running mean named
      `f.__name__`.
    - a config dict {"class_name": ..., "config": {...}}: `deserialize`d.
    - None: None.
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in _SHAPE_DEPENDENT:
            if y_true is None or y_pred is None:
                raise ValueError(f"Invalid metric {identifier!r}: which accuracy it means depends "
                                 f"on the shapes, pass y_true and y_pred (tensors or shapes), or "
                                 f"name one of binary_accuracy, categorical_accuracy, "
                                 f"sparse_categorical_accuracy")
            kind = accuracy_kind(y_true, y_pred)
            cls = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
                   "categorical": CategoricalAccuracy}[kind]
            return cls(name=identifier)
        if identifier in _IDS:
            return _IDS[identifier](name=identifier)
        if identifier in _BY_CLASS_NAME:
            return _BY_CLASS_NAME[identifier](name=identifier)
        raise ValueError(f"Invalid metric: expected one of {valid_ids()}, a Metric, a function "
                         f"or a config dict, received {identifier!r}")
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and not isinstance(identifier, type):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(f"Invalid metric: expected a string, a Metric, a function or a config dict, "
                    f"received {type(identifier).__name__}")


def serialize(metric: Metric) -> dict:
    """{"class_name": ..., "config": ...} describing `metric` (not its running state), with its
    "registered_name" when its class was registered with ks.saving.register_keras_serializable."""
    from ..saving import _NAMES

    spec = class_config(metric, Metric, "metric", "a Metric")
    if type(metric) in _NAMES:
        spec["registered_name"] = _NAMES[type(metric)]
    return spec


def deserialize(config: dict, custom_objects: dict | None = None) -> Metric:
    """Rebuild a metric from `serialize`'s dict. Only known classes and functions are looked up (no
    code is loaded); custom metric classes or wrapped functions come from `custom_objects`."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Invalid config: expected a dict with 'class_name' and 'config', "
                         f"received {config!r}")
    custom_objects = custom_objects or {}
    name, cfg = config["class_name"], dict(config.get("config") or {})
    from ..saving import find_custom

    cls = custom_objects.get(name) or find_custom(config.get("registered_name"), name) \
        or CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Invalid class_name: expected one of {sorted(CLASSES)} or a key of "
                         f"custom_objects, received {name!r}")
    if cls is MeanMetricWrapper:
        fn_name = cfg.pop("fn", None)
        fn = custom_objects.get(fn_name) or find_custom(fn_name) or FUNCTIONS.get(fn_name)
        if fn is None:
            raise ValueError(f"Invalid config: function {fn_name!r} is not a built-in metric "
                             f"function ({sorted(FUNCTIONS)}); pass it in custom_objects")
        return MeanMetricWrapper(fn, **cfg)
    return cls.from_config(cfg)
