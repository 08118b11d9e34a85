"""What the convolution, pooling and spatial layers share: argument checks, Keras's padding
arithmetic, and the views between Keras's layouts and torch's (N, C, H, W).

Padding along one axis of length n, with kernel k, dilation d (k_eff = d (k - 1) + 1), stride s
(Keras 3.16 `compute_conv_output_shape` and the TensorFlow rule its backends follow):

    "valid":  no padding; out = floor((n - k_eff) / s) + 1
    "same":   out = ceil(n / s); total = max(0, (out - 1) s + k_eff - n), split as
              (total // 2, total - total // 2): the odd pixel goes to the bottom / right
    "causal": (Conv1D only) k_eff - 1 zeros on the left; out = n for s = 1

Layout views (no copy): a channels_last batch (N, H, W, C) is x.permute(0, 3, 1, 2) in torch's
logical order, a "channels_last memory format" tensor that torch's CPU kernels take as it is. A 1-D
batch (N, L, C) is first viewed as (N, 1, L, C), so every layer runs the 2-D kernels.
"""

import numbers

DATA_FORMATS = ("channels_last", "channels_first")


def check_int_tuple(value, n: int, arg: str, minimum: int = 1) -> tuple:
    """An int or a tuple/list of n ints, each >= minimum, as a tuple of n ints."""
    def ok(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum
    what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    if ok(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(ok(v) for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(f"Invalid {arg}: expected {what} or a tuple of {n} of them, received "
                     f"{value!r}")


def check_padding(padding, allowed=("valid", "same")) -> str:
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"Invalid padding: expected one of {list(allowed)}, received {padding!r}")
    return padding.lower()


def check_data_format(data_format) -> str:
    if data_format is None:
        return "channels_last"
    if not isinstance(data_format, str) or data_format.lower() not in DATA_FORMATS:
        raise ValueError(f"Invalid data_format: expected 'channels_last', 'channels_first' or "
                         f"None, received {data_format!r}")
    return data_format.lower()


def check_bool(value, arg: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"Invalid {arg}: expected a bool, received {value!r}")
    return value


def pad_amounts(n: int, k: int, s: int, d: int, padding: str) -> tuple:
    """(before, after) zeros along one axis (see the module docstring)."""
    k_eff = d * (k - 1) + 1
    if padding == "valid":
        return (0, 0)
    if padding == "causal":
        return (k_eff - 1, 0)
    out = -(-n // s)
    total = max(0, (out - 1) * s + k_eff - n)
    return (total // 2, total - total // 2)


def output_length(n, k: int, s: int, d: int, padding: str):
    """The output length along one axis (None stays None)."""
    if n is None:
        return None
    if padding == "valid":
        return (n - d * (k - 1) - 1) // s + 1
    return -(-n // s)


def to_nchw(x, rank: int, data_format: str):
    """A view of a Keras batch in torch's logical (N, C, H, W) order (1-D: H = 1)."""
    if rank == 1:
        x = x.unsqueeze(1) if data_format == "channels_last" else x.unsqueeze(2)
    return x.permute(0, 3, 1, 2) if data_format == "channels_last" else x


def from_nchw(y, rank: int, data_format: str):
    """The inverse view of `to_nchw`."""
    if data_format == "channels_last":
        y = y.permute(0, 2, 3, 1)
        return y.squeeze(1) if rank == 1 else y
    return y.squeeze(2) if rank == 1 else y


def spatial_dims(shape, rank: int, data_format: str) -> tuple:
    """The spatial sizes of a (batch-first) shape."""
    shape = tuple(shape)
    return shape[1:1 + rank] if data_format == "channels_last" else shape[2:2 + rank]


def channels(shape, data_format: str):
    return shape[-1] if data_format == "channels_last" else shape[1]


def with_spatial(shape, sizes, chans, data_format: str) -> tuple:
    """A batch-first shape with new spatial sizes and channel count."""
    if data_format == "channels_last":
        return (shape[0], *sizes, chans)
    return (shape[0], chans, *sizes)


def check_rank(layer, input_shape, rank: int) -> None:
    if len(input_shape) != rank + 2:
        layout = {1: "(batch, steps, channels)", 2: "(batch, rows, cols, channels)"}[rank]
        raise ValueError(f"Layer '{layer.name}' expects inputs of rank {rank + 2}, e.g. {layout} "
                         f"for channels_last, received shape {tuple(input_shape)}")
