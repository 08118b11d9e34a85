"""Layers that resize images without weights: UpSampling2D, ZeroPadding2D, Cropping2D (Keras 3).

Shapes are (N, H, W, C) for channels_last (the default), (N, C, H, W) for channels_first.

    ZeroPadding2D   y = x with zeros around it (top, bottom, left, right)    dx = dy cropped back
    Cropping2D      y = x without its borders                                dx = dy zero-padded back
    UpSampling2D    nearest:  y[i, j] = x[i // sh, j // sw]                   dx = dy summed over each
                                                                              sh x sw block
                    bilinear: y = A_h x A_w^T along the two spatial axes      dx = A_h^T dy A_w
                    with A the (out, in) interpolation matrix of half-pixel centres (TensorFlow's
                    resize and torch's align_corners=False: source s = (o + 0.5) / scale - 0.5,
                    clamped at 0, weights 1 - frac(s) and frac(s) on its two neighbours)
"""

import numbers

import torch

from . import conv_utils as cu
from .base import Layer


def _pad_spatial(x, pads, data_format):
    """Zero-pad (or, with negative amounts, crop) the two spatial axes of a Keras-layout batch."""
    (top, bottom), (left, right) = pads
    widths = [left, right, top, bottom]
    if data_format == "channels_last":
        widths = [0, 0] + widths
    return torch.ops.aten.constant_pad_nd(x, widths, 0.0)


def _amounts(value, arg: str) -> tuple:
    """Keras's forms: an int, a tuple of 2 ints (symmetric rows, cols), or ((top, bottom),
    (left, right)); every amount a non-negative int."""
    def nonneg(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0
    if nonneg(value):
        return ((int(value),) * 2,) * 2
    if isinstance(value, (tuple, list)) and len(value) == 2:
        if all(nonneg(v) for v in value):
            return tuple((int(v), int(v)) for v in value)
        if all(isinstance(v, (tuple, list)) and len(v) == 2 and all(nonneg(a) for a in v)
               for v in value):
            return tuple((int(v[0]), int(v[1])) for v in value)
    raise ValueError(f"Invalid {arg}: expected a non-negative int, a tuple of 2 of them, or a "
                     f"tuple of 2 (before, after) tuples, received {value!r}")


class ZeroPadding2D(Layer):
    """`ZeroPadding2D(padding=(1, 1), data_format=None)`: zeros around each image."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        self.padding = _amounts(padding, "padding")
        self.data_format = cu.check_data_format(data_format)
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        cu.check_rank(self, input_shape, 2)

    def forward(self, x, training=False):
        pads, fmt = self.padding, self.data_format
        y = _pad_spatial(x, pads, fmt)

        def backward(dy):
            return _pad_spatial(dy, [(-a, -b) for a, b in pads], fmt)
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        cu.check_rank(self, input_shape, 2)
        sizes = [None if n is None else n + a + b for n, (a, b) in
                 zip(cu.spatial_dims(input_shape, 2, self.data_format), self.padding)]
        return cu.with_spatial(input_shape, sizes, cu.channels(input_shape, self.data_format),
                               self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}


class Cropping2D(Layer):
    """`Cropping2D(cropping=((0, 0), (0, 0)), data_format=None)`: drop each image's borders."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        self.cropping = _amounts(cropping, "cropping")
        self.data_format = cu.check_data_format(data_format)
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def forward(self, x, training=False):
        crops, fmt = self.cropping, self.data_format
        y = _pad_spatial(x, [(-a, -b) for a, b in crops], fmt)

        def backward(dy):
            return _pad_spatial(dy, crops, fmt)
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        cu.check_rank(self, input_shape, 2)
        sizes = []
        for n, (a, b) in zip(cu.spatial_dims(input_shape, 2, self.data_format), self.cropping):
            if n is not None and a + b >= n:
                raise ValueError(f"Invalid cropping: {self.cropping} leaves nothing of an input of "
                                 f"shape {input_shape}")
            sizes.append(None if n is None else n - a - b)
        return cu.with_spatial(input_shape, sizes, cu.channels(input_shape, self.data_format),
                               self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping],
                "data_format": self.data_format}


class UpSampling2D(Layer):
    """`UpSampling2D(size=(2, 2), data_format=None, interpolation="nearest")`; interpolation
    "nearest" or "bilinear" (Keras's "bicubic" / "lanczos" are not implemented)."""

    INTERPOLATIONS = ("nearest", "bilinear")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        self.size = cu.check_int_tuple(size, 2, "size")
        self.data_format = cu.check_data_format(data_format)
        if not isinstance(interpolation, str) or interpolation.lower() not in self.INTERPOLATIONS:
            raise ValueError(f"Invalid interpolation: expected one of {list(self.INTERPOLATIONS)}, "
                             f"received {interpolation!r}")
        self.interpolation = interpolation.lower()
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        cu.check_rank(self, input_shape, 2)

    def forward(self, x, training=False):
        if self.interpolation == "bilinear":
            return self._bilinear(x)
        sh, sw = self.size
        shape = x.shape
        if self.data_format == "channels_last":
            n, h, w, c = shape
            blocks = (n, h, sh, w, sw, c)
            y = x.view(n, h, 1, w, 1, c).expand(blocks).reshape(n, h * sh, w * sw, c)
            block_axes = (2, 4)
        else:
            n, c, h, w = shape
            blocks = (n, c, h, sh, w, sw)
            y = x.view(n, c, h, 1, w, 1).expand(blocks).reshape(n, c, h * sh, w * sw)
            block_axes = (3, 5)

        def backward(dy):
            return dy.reshape(blocks).sum(block_axes)
        return y, backward

    def _bilinear(self, x):
        last = self.data_format == "channels_last"
        h, w = x.shape[1:3] if last else x.shape[2:4]
        Ah = _interpolation_matrix(h, self.size[0], x)
        Aw = _interpolation_matrix(w, self.size[1], x)
        spec = "nhwc" if last else "nchw"
        out = spec.replace("h", "i").replace("w", "j")
        y = torch.einsum(f"ih,{spec},jw->{out}", Ah, x, Aw)

        def backward(dy):
            return torch.einsum(f"ih,{out},jw->{spec}", Ah, dy, Aw)
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        cu.check_rank(self, input_shape, 2)
        sizes = [None if n is None else n * s for n, s in
                 zip(cu.spatial_dims(input_shape, 2, self.data_format), self.size)]
        return cu.with_spatial(input_shape, sizes, cu.channels(input_shape, self.data_format),
                               self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


def _interpolation_matrix(n: int, scale: int, like: torch.Tensor) -> torch.Tensor:
    """A (n * scale, n) matrix of bilinear weights with half-pixel centres (module docstring)."""
    out = torch.arange(n * scale, dtype=torch.float64)
    src = ((out + 0.5) / scale - 0.5).clamp(min=0)
    lo = src.floor().long().clamp(max=n - 1)
    hi = (lo + 1).clamp(max=n - 1)
    frac = src - lo
    A = torch.zeros(n * scale, n, dtype=torch.float64)
    rows = torch.arange(n * scale)
    A.index_put_((rows, lo), 1 - frac, accumulate=True)
    A.index_put_((rows, hi), frac, accumulate=True)
    return A.to(dtype=like.dtype, device=like.device)
