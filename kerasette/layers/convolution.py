"""`Conv1D`, `Conv2D` and `Conv2DTranspose`: convolutions with Keras 3's arguments and kernel layouts.

Shapes (channels_last, the default; channels_first puts C right after N):

    Conv2D           x (N, H, W, C) -> y (N, H', W', filters); kernel (kh, kw, C / groups, filters)
    Conv1D           x (N, L, C)    -> y (N, L', filters);     kernel (k, C / groups, filters)
    Conv2DTranspose  x (N, H, W, C) -> y (N, H', W', filters); kernel (kh, kw, filters, C)
    bias (filters,)

    forward                                      backward (given dy = dL/dy)
    z = conv(pad(x), w) + b                      dz = act'(z) * dy          (the activation's)
    y = act(z)                                   dw += conv's weight gradient of (dz, pad(x))
                                                 db += sum of dz over N and the spatial axes
                                                 dx  = crop(conv's input gradient of dz)

conv is the cross-correlation of `kerasette.conv_kernels` (Keras's, and torch's), pad the "same" /
"causal" zeros of `conv_utils`. The kernels run on views of Keras's tensors in torch's (N, C, H, W)
order: for channels_last data, no layout copy is made in either direction. A 1-D convolution runs as
a 2-D one with H = 1.

Conv2DTranspose is the adjoint of a convolution (its forward is a convolution's input gradient), with
Keras's output size: "valid" gives (n - 1) s + max(k_eff, s), "same" n s, and `output_padding` the
TensorFlow rule (see `transpose_crops`).
"""

import torch

from .. import conv_kernels as ck
from . import conv_options as co
from . import conv_utils as cu
from .base import Layer


class _Conv(Layer):
    """Conv1D / Conv2D (rank 1 or 2). See the module docstring for the math and shapes."""

    rank = 2
    skips_input_grad = True
    paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        self.filters = co.positive_int(filters, "filters")
        co.set_window(self, self.rank, kernel_size, strides, padding, data_format, dilation_rate,
                      self.paddings)
        self.groups = co.positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(f"Invalid groups: filters ({self.filters}) must be divisible by "
                             f"groups, received groups={self.groups}")
        co.set_output(self, activation, use_bias, bias_initializer, bias_regularizer,
                      bias_constraint)
        co.set_weight_options(self, "kernel", kernel_initializer, kernel_regularizer,
                              kernel_constraint)
        super().__init__(**kwargs)
        self.kernel = None
        self.bias = None

    # ----- weights ----------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        c = co.known_channels(self, input_shape, self.rank, self.groups)
        self.compute_output_shape(input_shape)  # refuses inputs smaller than the kernel
        self.kernel = co.add_weight(self, "kernel",
                                    (*self.kernel_size, c // self.groups, self.filters))
        if self.use_bias:
            self.bias = co.add_weight(self, "bias", (self.filters,))

    def torch_kernel(self, k: torch.Tensor) -> torch.Tensor:
        """A view of a Keras-layout kernel (or its gradient) in torch's (O, C/g, kh, kw)."""
        return k.permute(3, 2, 0, 1) if self.rank == 2 else k.permute(2, 1, 0).unsqueeze(2)

    # ----- forward / backward -----------------------------------------------------------------
    def forward(self, x, training=False):
        r = self.rank
        xt = cu.to_nchw(x, r, self.data_format)
        stride, dilation = _as2d(self.strides, 1, r), _as2d(self.dilation_rate, 1, r)
        kernel2d = _as2d(self.kernel_size, 1, r)
        pads = [cu.pad_amounts(n, k, s, d, self.padding)
                for n, k, s, d in zip(xt.shape[2:], kernel2d, stride, dilation)]
        z, conv_backward = conv_step(xt, self.kernel, self.bias, self.torch_kernel, stride, pads,
                                     dilation, self.groups)
        y, act_backward = self.activation.forward_fresh(cu.from_nchw(z, r, self.data_format))
        fmt = self.data_format

        def backward(dy, need_dx=True):
            dz = cu.to_nchw(act_backward(dy), r, fmt)
            dx = conv_backward(dz, need_dx)
            return None if dx is None else cu.from_nchw(dx, r, fmt)
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        cu.check_rank(self, input_shape, self.rank)
        sizes = co.output_sizes(self, input_shape, self.rank)
        return cu.with_spatial(input_shape, sizes, self.filters, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, **co.window_config(self),
                "groups": self.groups, **co.output_config(self),
                **co.weight_config(self, "kernel")}


class Conv2D(_Conv):
    """2-D convolution: `Conv2D(filters, kernel_size, strides=(1, 1), padding="valid",
    data_format=None, dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
    kernel_initializer="glorot_uniform", bias_initializer="zeros")` as in Keras 3."""

    rank = 2


class Conv1D(_Conv):
    """1-D convolution over (N, steps, channels); padding may also be "causal" (left zeros only,
    so y[t] depends on x[<= t])."""

    rank = 1
    paddings = ("valid", "same", "causal")


def conv_step(xt, kernel, bias, torch_kernel, stride, pads, dilation, groups):
    """The convolution shared by the conv layers, on torch-order views.

    pads: ((top, bottom), (left, right)). The symmetric part goes to the kernel; only an
    asymmetric remainder ("same" with an even window, "causal") is padded here, which copies x.
    Returns (z, backward) with backward(dz, need_dx) -> dx or None.
    """
    sym = tuple(min(a, b) for a, b in pads)
    extra = tuple((a - m, b - m) for (a, b), m in zip(pads, sym))
    xp = ck.pad(xt, extra)
    w = torch_kernel(kernel.value).contiguous()  # small; torch's float64 kernels need it
    b = None if bias is None else bias.value
    z = ck.conv2d(xp, w, b, stride, sym, dilation, groups)

    def backward(dz, need_dx=True):
        need_dw = kernel.trainable
        need_db = bias is not None and bias.trainable
        if not (need_dx or need_dw or need_db):
            return None
        dxp, dw, db = ck.conv2d_backward(dz, xp, w, stride, sym, dilation, groups,
                                         need_dx, need_dw, need_db)
        if need_dw:
            torch_kernel(kernel.grad).add_(dw)
        if need_db:
            bias.grad.add_(db)
        return ck.pad(dxp, ck.negate(extra)) if need_dx else None
    return z, backward


class Conv2DTranspose(Layer):
    """Transposed 2-D convolution ("deconvolution"): `Conv2DTranspose(filters, kernel_size,
    strides=(1, 1), padding="valid", output_padding=None, data_format=None, dilation_rate=(1, 1),
    activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros")`.

    Kernel (kh, kw, filters, C) as in Keras. y = A^T x (+ b), A the convolution with the same
    kernel, strides and dilation that maps y's shape back to x's; dx = A dz, dw from A's weight
    gradient. torch's transposed kernel computes the full output ((n - 1) s + k_eff along an axis)
    cropped by a symmetric padding; Keras's size comes from cropping the rest (or zero-extending,
    for a large output_padding) on each side (`transpose_crops`).
    """

    skips_input_grad = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        self.filters = co.positive_int(filters, "filters")
        co.set_window(self, 2, kernel_size, strides, padding, data_format, dilation_rate)
        self.output_padding = (None if output_padding is None else
                               cu.check_int_tuple(output_padding, 2, "output_padding", minimum=0))
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"Invalid output_padding: each entry must be smaller than the "
                             f"stride {self.strides}, received {output_padding!r}")
        co.set_output(self, activation, use_bias, bias_initializer, bias_regularizer,
                      bias_constraint)
        co.set_weight_options(self, "kernel", kernel_initializer, kernel_regularizer,
                              kernel_constraint)
        super().__init__(**kwargs)
        self.kernel = None
        self.bias = None

    def build(self, input_shape) -> None:
        c = co.known_channels(self, input_shape, 2)
        self.kernel = co.add_weight(self, "kernel", (*self.kernel_size, self.filters, c))
        if self.use_bias:
            self.bias = co.add_weight(self, "bias", (self.filters,))

    def _sizes(self, n, axis):
        op = None if self.output_padding is None else self.output_padding[axis]
        return transpose_crops(n, self.kernel_size[axis], self.strides[axis],
                               self.dilation_rate[axis], self.padding, op)

    def forward(self, x, training=False):
        fmt = self.data_format
        kernel, bias = self.kernel, self.bias
        xt = cu.to_nchw(x, 2, fmt)
        crops = [self._sizes(n, a)[1:] for a, n in enumerate(xt.shape[2:])]
        sym = tuple(max(0, min(c)) for c in crops)
        post = tuple((s - a, s - b) for (a, b), s in zip(crops, sym))  # pad(+) / crop(-) after
        extends = any(p > 0 for pair in post for p in pair)
        w = kernel.value.permute(3, 2, 0, 1).contiguous()      # (C, filters, kh, kw)
        b = None if bias is None else bias.value
        zt = ck.conv_transpose2d(xt, w, None if extends else b, self.strides, sym, (0, 0),
                                 self.dilation_rate, 1)
        zt = ck.pad(zt, post)
        if extends and b is not None:
            zt = zt + b[None, :, None, None]
        y, act_backward = self.activation.forward_fresh(cu.from_nchw(zt, 2, fmt))
        strides, dilation = self.strides, self.dilation_rate

        def backward(dy, need_dx=True):
            dz = cu.to_nchw(act_backward(dy), 2, fmt)
            need_dw = kernel.trainable
            if bias is not None and bias.trainable:
                bias.grad.add_(dz.sum((0, 2, 3)))
            if not (need_dx or need_dw):
                return None
            dx, dw, _ = ck.conv_transpose2d_backward(ck.pad(dz, ck.negate(post)), xt, w, strides,
                                                     sym, (0, 0), dilation, 1, need_dx, need_dw)
            if need_dw:
                kernel.grad.permute(3, 2, 0, 1).add_(dw)
            return cu.from_nchw(dx, 2, fmt) if need_dx else None
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        cu.check_rank(self, input_shape, 2)
        sizes = [None if n is None else self._sizes(n, a)[0]
                 for a, n in enumerate(cu.spatial_dims(input_shape, 2, self.data_format))]
        return cu.with_spatial(input_shape, sizes, self.filters, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, **co.window_config(self),
                "output_padding": None if self.output_padding is None else list(self.output_padding),
                **co.output_config(self), **co.weight_config(self, "kernel")}


def transpose_crops(n: int, k: int, s: int, d: int, padding: str, output_padding):
    """(out, crop_before, crop_after) of a transposed convolution along one axis.

    Keras 3.16 (TensorFlow's rule, `_convert_conv_transpose_padding_args_from_keras_to_jax`): x is
    spread s apart ((n - 1) s + 1 entries), padded with (before, after) zeros and correlated with
    the flipped kernel, k_eff = d (k - 1) + 1:
        valid: before = k_eff - 1, after = k_eff - 1 + op, op = max(k_eff, s) - k_eff by default
        same:  total = s + k_eff - 2 by default, else k_eff + k_eff % 2 - 2 + op;
               before = min(ceil(total / 2), k_eff - 1), after = total - before
    The full transposed convolution pads k_eff - 1 on each side, so the crops are k_eff - 1 minus
    those (a negative crop after is a zero extension). out = (n - 1) s + 1 + before + after - k_eff + 1.
    """
    k_eff = d * (k - 1) + 1
    if padding == "valid":
        op = max(k_eff, s) - k_eff if output_padding is None else output_padding
        before, after = k_eff - 1, k_eff - 1 + op
    else:
        total = s + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
        before = min(total // 2 + total % 2, k_eff - 1)
        after = total - before
    out = (n - 1) * s + 1 + before + after - k_eff + 1
    return out, k_eff - 1 - before, k_eff - 1 - after


def _as2d(values: tuple, fill: int, rank: int) -> tuple:
    """A rank-1 tuple as the (1, v) of the H = 1 view; rank-2 tuples unchanged."""
    return (fill, *values) if rank == 1 else tuple(values)
