"""The constructor arguments every convolution layer shares (Conv1D / Conv2D, Conv2DTranspose,
DepthwiseConv2D, SeparableConv2D): their checks, their config entries, and the output size with the
error for an input smaller than the kernel.

    window      kernel_size, strides, padding, data_format, dilation_rate
                (as in Keras 3, strides > 1 cannot be combined with dilation_rate > 1)
    output      activation, use_bias and the bias's options
    per weight  <weight>_initializer, <weight>_regularizer, <weight>_constraint
"""

import numbers

from .. import activations, constraints, regularizers
from .. import initializers as inits
from . import conv_utils as cu


def positive_int(value, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"Invalid {arg}: expected a positive int, received {value!r}")
    return int(value)


def set_window(layer, rank: int, kernel_size, strides, padding, data_format, dilation_rate,
               paddings=("valid", "same")) -> None:
    """Check the window arguments and set them on `layer` (tuples of `rank` ints, lower-case
    strings)."""
    layer.kernel_size = cu.check_int_tuple(kernel_size, rank, "kernel_size")
    layer.strides = cu.check_int_tuple(strides, rank, "strides")
    layer.padding = cu.check_padding(padding, paddings)
    layer.data_format = cu.check_data_format(data_format)
    layer.dilation_rate = cu.check_int_tuple(dilation_rate, rank, "dilation_rate")
    if max(layer.strides) > 1 and max(layer.dilation_rate) > 1:
        raise ValueError(f"Invalid strides / dilation_rate: strides > 1 cannot be combined with "
                         f"dilation_rate > 1 (as in Keras), received strides={layer.strides}, "
                         f"dilation_rate={layer.dilation_rate}")


def set_output(layer, activation, use_bias, bias_initializer, bias_regularizer,
               bias_constraint) -> None:
    """The activation, and the bias switch with the bias's options."""
    layer.activation = activations.get(activation)
    layer.use_bias = cu.check_bool(use_bias, "use_bias")
    set_weight_options(layer, "bias", bias_initializer, bias_regularizer, bias_constraint)


def set_weight_options(layer, weight: str, initializer, regularizer, constraint) -> None:
    """`layer.<weight>_initializer` / `_regularizer` / `_constraint`, each resolved by its `get`."""
    setattr(layer, f"{weight}_initializer", inits.get(initializer))
    setattr(layer, f"{weight}_regularizer", regularizers.get(regularizer))
    setattr(layer, f"{weight}_constraint", constraints.get(constraint))


def add_weight(layer, name: str, shape: tuple, options: str = None):
    """`layer.add_weight(name, ...)` with the initializer, regularizer and constraint set under
    `options` (default: the weight's name; "depthwise" for the weight "depthwise_kernel")."""
    options = options or name
    return layer.add_weight(name, shape, getattr(layer, f"{options}_initializer"),
                            regularizer=getattr(layer, f"{options}_regularizer"),
                            constraint=getattr(layer, f"{options}_constraint"))


def window_config(layer) -> dict:
    return {"kernel_size": list(layer.kernel_size), "strides": list(layer.strides),
            "padding": layer.padding, "data_format": layer.data_format,
            "dilation_rate": list(layer.dilation_rate)}


def output_config(layer) -> dict:
    return {"activation": activations.serialize(layer.activation), "use_bias": layer.use_bias,
            **weight_config(layer, "bias")}


def weight_config(layer, *weights: str) -> dict:
    """The `<weight>_initializer` / `_regularizer` / `_constraint` entries of a config."""
    out = {}
    for w in weights:
        out[f"{w}_initializer"] = inits.serialize(getattr(layer, f"{w}_initializer"))
        out[f"{w}_regularizer"] = regularizers.serialize(getattr(layer, f"{w}_regularizer"))
        out[f"{w}_constraint"] = constraints.serialize(getattr(layer, f"{w}_constraint"))
    return out


def known_channels(layer, input_shape, rank: int, groups: int = 1) -> int:
    """The input's channel count, refused when unknown (or not divisible by `groups`)."""
    cu.check_rank(layer, input_shape, rank)
    c = cu.channels(input_shape, layer.data_format)
    if c is None or c % groups:
        need = "a known channel count" + (f" divisible by groups={groups}" if groups > 1 else "")
        raise ValueError(f"Layer '{layer.name}' needs {need}, received input shape "
                         f"{tuple(input_shape)}")
    return c


def output_sizes(layer, input_shape: tuple, rank: int) -> list:
    """The spatial output sizes of a convolution window over `input_shape` (None stays None);
    an input smaller than the dilated kernel is refused."""
    sizes = []
    for n, k, s, d in zip(cu.spatial_dims(input_shape, rank, layer.data_format),
                          layer.kernel_size, layer.strides, layer.dilation_rate):
        out = cu.output_length(n, k, s, d, layer.padding)
        if out is not None and out <= 0:
            raise ValueError(f"Layer '{layer.name}': an input of shape {input_shape} is smaller "
                             f"than the kernel {layer.kernel_size} (dilation "
                             f"{layer.dilation_rate}) with padding='{layer.padding}'")
        sizes.append(out)
    return sizes
