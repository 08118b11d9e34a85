"""Pooling layers with Keras 3's arguments: MaxPooling1D/2D, AveragePooling1D/2D and the global ones.

Window pooling, x (N, H, W, C) -> y (N, H', W', C) (1-D: (N, L, C), run as H = 1), window (ph, pw),
strides defaulting to the window; sizes and "same" padding follow `conv_utils` (dilation 1):

    max:      y = max over each window               dx: dy goes to the window's maximum
    average:  y = sum over the window / count        dx: dy / count to each real entry of the window

With padding="same" a max ignores the padding (it is -inf), and an average divides by the number of
*real* entries in the window (Keras on TensorFlow and JAX; torch's count_include_pad=False), so a
corner window of a 2x2 pooling on an odd-sized input averages fewer numbers.

Global pooling reduces every spatial axis: x (N, ..., C) -> y (N, C), or (N, 1, ..., 1, C) with
keepdims=True. Average: dx = dy / (number of positions), the same for each; max: dx is dy at each
channel's maximum (the first one, in a tie) and 0 elsewhere.
"""

import math

import torch

from .. import conv_kernels as ck
from . import conv_utils as cu
from .base import Layer


class _Pooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        r = self.rank
        self.pool_size = cu.check_int_tuple(pool_size, r, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else cu.check_int_tuple(strides, r, "strides"))
        self.padding = cu.check_padding(padding)
        self.data_format = cu.check_data_format(data_format)
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def forward(self, x, training=False):
        r, fmt = self.rank, self.data_format
        xt = cu.to_nchw(x, r, fmt)
        pool = (1, *self.pool_size) if r == 1 else self.pool_size
        stride = (1, *self.strides) if r == 1 else self.strides
        pads = tuple(cu.pad_amounts(n, k, s, 1, self.padding)
                     for n, k, s in zip(xt.shape[2:], pool, stride))
        if self.mode == "max":
            xp = ck.pad(xt, pads, -math.inf)
            yt, argmax = ck.max_pool2d(xp, pool, stride)

            def backward_t(dyt):
                return ck.max_pool2d_backward(dyt, xp, pool, stride, argmax)
        else:
            xp = ck.pad(xt, pads)
            yt = ck.avg_pool2d(xp, pool, stride)
            scale = _real_count_scale(xt, pads, pool, stride, yt.shape[2:])
            if scale is not None:
                yt = yt * scale

            def backward_t(dyt):
                return ck.avg_pool2d_backward(dyt if scale is None else dyt * scale, xp, pool,
                                              stride)
        y = cu.from_nchw(yt, r, fmt)

        def backward(dy):
            dxp = backward_t(cu.to_nchw(dy, r, fmt))
            return cu.from_nchw(ck.pad(dxp, ck.negate(pads)), r, fmt)
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        cu.check_rank(self, input_shape, self.rank)
        sizes = []
        for n, k, s in zip(cu.spatial_dims(input_shape, self.rank, self.data_format),
                           self.pool_size, self.strides):
            out = cu.output_length(n, k, s, 1, self.padding)
            if out is not None and out <= 0:
                raise ValueError(f"Layer '{self.name}': an input of shape {input_shape} is smaller "
                                 f"than the pool_size {self.pool_size} with padding='valid'")
            sizes.append(out)
        c = cu.channels(input_shape, self.data_format)
        return cu.with_spatial(input_shape, sizes, c, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format}


def _real_count_scale(xt, pads, pool, stride, out):
    """(ph pw) / (real entries per window), shape (H', W'): turns torch's mean over the padded
    window into the mean over its real entries. None when nothing is padded."""
    if all(a == b == 0 for a, b in pads):
        return None
    rows, cols = (torch.tensor(ck.window_counts(n, k, s, before, o), dtype=xt.dtype,
                               device=xt.device)
                  for n, k, s, (before, _), o in zip(xt.shape[2:], pool, stride, pads, out))
    return (pool[0] * pool[1]) / torch.outer(rows, cols)


class MaxPooling2D(_Pooling):
    """`MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid", data_format=None)`."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """`AveragePooling2D(pool_size=(2, 2), strides=None, padding="valid", data_format=None)`."""

    mode = "average"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling1D(_Pooling):
    """`MaxPooling1D(pool_size=2, strides=None, padding="valid", data_format=None)`."""

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """`AveragePooling1D(pool_size=2, strides=None, padding="valid", data_format=None)`."""

    rank = 1
    mode = "average"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    rank = 2
    mode = "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        self.data_format = cu.check_data_format(data_format)
        self.keepdims = cu.check_bool(keepdims, "keepdims")
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        cu.check_rank(self, input_shape, self.rank)

    def _axes(self):
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def forward(self, x, training=False):
        axes, shape = self._axes(), x.shape
        keep = tuple(1 if i in axes else n for i, n in enumerate(shape))  # y's keepdims shape
        if self.mode == "average":
            count = math.prod(shape[i] for i in axes)
            y = x.mean(axes, keepdim=self.keepdims)

            def backward(dy):
                return (dy / count).view(keep).expand(shape).contiguous()
        else:
            # flatten the spatial axes into one (a view for contiguous x), then max over it
            flat = x.flatten(axes[0], axes[-1])
            values, index = flat.max(axes[0], keepdim=True)
            y = values.view(keep) if self.keepdims else values.squeeze(axes[0])

            def backward(dy):
                dflat = torch.zeros(flat.shape, dtype=dy.dtype, device=dy.device)
                dflat.scatter_(axes[0], index, dy.reshape(values.shape))
                return dflat.view(shape)
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        cu.check_rank(self, input_shape, self.rank)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else n for i, n in enumerate(input_shape))
        return tuple(n for i, n in enumerate(input_shape) if i not in axes)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling):
    """`GlobalAveragePooling2D(data_format=None, keepdims=False)`: the mean over rows and cols."""


class GlobalMaxPooling2D(_GlobalPooling):
    """`GlobalMaxPooling2D(data_format=None, keepdims=False)`: the max over rows and cols."""

    mode = "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """`GlobalAveragePooling1D(data_format=None, keepdims=False)`: the mean over the steps.

    Given a Keras mask m (N, T) (kerasette/layers/mask_protocol.py), the mean over the real steps,
    as Keras: y = sum_t m_t x_t / sum_t m_t, dx_t = m_t dy / sum_t m_t (a row with no real step
    gives 0 / 0 = NaN, as in Keras). The output has no mask."""

    rank = 1
    uses_mask = True

    def forward(self, x, training=False, mask=None):
        if mask is None:
            return super().forward(x, training)
        steps = self._axes()[0]
        m = mask.unsqueeze(2 if steps == 1 else 1)  # (N, T, 1) or (N, 1, T)
        count = m.to(x.dtype).sum(steps, keepdim=True)
        y = torch.where(m, x, 0).sum(steps, keepdim=True) / count
        keep = y.shape

        def backward(dy):
            return torch.where(m, dy.reshape(keep) / count, 0).expand(x.shape).contiguous()
        return (y if self.keepdims else y.squeeze(steps)), backward

    def compute_mask(self, x, mask=None):
        return None


class GlobalMaxPooling1D(_GlobalPooling):
    """`GlobalMaxPooling1D(data_format=None, keepdims=False)`: the max over the steps."""

    rank = 1
    mode = "max"


# Keras's short aliases (the same classes, so a saved model names the long one)
MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
