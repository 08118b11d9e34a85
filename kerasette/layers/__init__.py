"""Layers, and the registry that rebuilds them from saved configs.

    spec = layers.serialize(layer)     # {"class_name": "Dense", "config": layer.get_config()}
    clone = layers.deserialize(spec)   # a new, unbuilt layer with the same config

Other layer modules add their classes with `register(cls)` (or by listing them below).
"""

from .activations import ELU, GELU, Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .attention import MultiHeadAttention
from .attention_softmax import AttentionSoftmaxOp
from .base import Layer, Weight, mark_operation
from .convolution import Conv1D, Conv2D, Conv2DTranspose
from .core import Input, InputLayer
from .dense import Dense
from .depthwise import DepthwiseConv2D, SeparableConv2D
from .dropout import Dropout
from .embedding import Embedding
from .feature_normalization import Normalization
from .lambda_layer import Lambda
from .masking import Masking, SetMaskOp
from .merging import Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply, Subtract
from .merging_functions import add, average, concatenate, dot, maximum, minimum, multiply, subtract
from .noise import GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D
from .normalization import BatchNormalization, GroupNormalization, LayerNormalization
from .pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from .recurrent import LSTM, SimpleRNN
from .recurrent_gru import GRU
from .regularization import ActivityRegularization
from .rescaling import Rescaling
from .reshaping import Flatten, Identity, Permute, RepeatVector, Reshape
from .rnn_cells import RNN, GRUCell, LSTMCell, SimpleRNNCell
from .rnn_custom import CellRNN
from .spatial_reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from .wrappers import Bidirectional, TimeDistributed

_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Make a Layer subclass known to `get` / `deserialize` by its class name (usable as a
    decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"Invalid cls: expected a Layer subclass, received {cls!r}")
    _REGISTRY[cls.__name__] = cls
    return cls


for _cls in (InputLayer, Dense, Activation, ReLU, LeakyReLU, ELU, Tanh, Sigmoid, Softmax, GELU,
             Softplus, Dropout, Flatten,
             Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
             Reshape, Permute, RepeatVector, Identity, Lambda, Rescaling, Normalization):
    register(_cls)
for _cls in (BatchNormalization, LayerNormalization, GroupNormalization, Embedding,
             SpatialDropout1D, SpatialDropout2D, GaussianNoise, GaussianDropout,
             ActivityRegularization, Masking, SetMaskOp, SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed,
             MultiHeadAttention, AttentionSoftmaxOp, CellRNN):
    register(_cls)
for _cls in (Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, MaxPooling1D,
             MaxPooling2D, AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
             GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, UpSampling2D,
             ZeroPadding2D, Cropping2D):
    register(_cls)


def get(class_name: str) -> type:
    """The layer class registered as `class_name` (e.g. "Dense")."""
    if not isinstance(class_name, str):
        raise TypeError(f"Invalid class_name: expected a string, received {class_name!r}")
    from ..saving import find_custom

    cls = find_custom(class_name) or _REGISTRY.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown layer class_name: {class_name!r}; expected one of "
                         f"{sorted(_REGISTRY)}, a class registered with "
                         f"ks.saving.register_keras_serializable, or a key of custom_objects")
    return cls


def serialize(layer: Layer) -> dict:
    """`{"class_name": ..., "config": layer.get_config()}`, with `"registered_name"` for a class
    registered with ks.saving, or `"module"` for a user's class that is not (as Keras writes it:
    reading finds it in custom_objects, or in that module if the program has it loaded)."""
    if not isinstance(layer, Layer):
        raise TypeError(f"Invalid layer: expected a Layer, received {type(layer).__name__}")
    from ..saving import _NAMES

    name = type(layer).__name__
    registered = _NAMES.get(type(layer))
    spec = {"class_name": name, "config": layer.get_config()}
    if registered is not None:
        spec["registered_name"] = registered
    elif _REGISTRY.get(name) is not type(layer):
        spec["module"] = type(layer).__module__
    if layer.is_operation and not type(layer).is_operation:  # ks.ops.relu's ReLU, x + y's Add
        spec["operation"] = True
    return spec


def deserialize(spec: dict) -> Layer:
    """A new (unbuilt) layer from a `serialize` dict."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ValueError(f"Invalid spec: expected a dict with 'class_name' and 'config', "
                         f"received {spec!r}")
    from ..saving import find_custom, find_defined

    cls = find_custom(spec.get("registered_name"), spec["class_name"]) or find_defined(
        spec.get("module"), spec["class_name"], Layer) or get(spec["class_name"])
    layer = cls.from_config(dict(spec.get("config", {})))
    if spec.get("operation"):
        mark_operation(layer)
    return layer


__all__ = [
    "Layer", "Weight", "Input", "InputLayer", "Dense", "Activation", "ReLU", "LeakyReLU", "ELU",
    "Tanh", "Sigmoid", "Softmax", "GELU", "Softplus", "Dropout", "Flatten",
    "Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "Reshape", "Permute", "RepeatVector", "Identity", "Lambda", "Rescaling", "Normalization",
    "Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalMaxPool1D", "GlobalMaxPool2D", "UpSampling2D", "ZeroPadding2D", "Cropping2D",
    "get", "register", "serialize", "deserialize",
    "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "Embedding", "Masking",
    "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
    "ActivityRegularization", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed",
    "RNN", "SimpleRNNCell", "LSTMCell", "GRUCell",
    "MultiHeadAttention",
]
