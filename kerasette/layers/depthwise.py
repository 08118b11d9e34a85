"""`DepthwiseConv2D` and `SeparableConv2D`: convolutions that filter each channel on its own.

DepthwiseConv2D: each input channel c gets `depth_multiplier` (m) filters of its own; output channel
c * m + j is channel c correlated with depthwise_kernel[:, :, c, j]. It is a grouped convolution with
groups = C, so it shares `conv_step` (and its kernels) with Conv2D:

    x (N, H, W, C) -> y (N, H', W', C * m); depthwise_kernel (kh, kw, C, m); bias (C * m,)
    forward  z = depthwise(pad(x), K) + b,  y = act(z)
    backward dz = act'(z) dy;  dK += weight gradient;  db += sum(dz);  dx = input gradient

SeparableConv2D: a depthwise convolution (strides, padding, dilation apply here), then a 1x1
"pointwise" convolution mixing the C * m channels into `filters`, then bias and activation:

    h = depthwise(pad(x), K)                 (N, H', W', C m)      K (kh, kw, C, m)
    z = h @ P + b                            (N, H', W', filters)  P (1, 1, C m, filters)
    y = act(z)
    backward: dz = act'(z) dy;  dP += h^T dz;  db += sum(dz);  dh = dz P^T;  then the depthwise step

Weights and their order are Keras 3's (depthwise_kernel, [pointwise_kernel,] bias).
"""

import torch

from . import conv_options as co
from . import conv_utils as cu
from .base import Layer
from .convolution import conv_step


class DepthwiseConv2D(Layer):
    """`DepthwiseConv2D(kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
    data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
    depthwise_initializer="glorot_uniform", bias_initializer="zeros")` as in Keras 3."""

    skips_input_grad = True
    pointwise = False

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        co.set_window(self, 2, kernel_size, strides, padding, data_format, dilation_rate)
        self.depth_multiplier = co.positive_int(depth_multiplier, "depth_multiplier")
        co.set_output(self, activation, use_bias, bias_initializer, bias_regularizer,
                      bias_constraint)
        co.set_weight_options(self, "depthwise", depthwise_initializer, depthwise_regularizer,
                              depthwise_constraint)
        super().__init__(**kwargs)
        self.depthwise_kernel = None
        self.bias = None

    def build(self, input_shape) -> None:
        c = co.known_channels(self, input_shape, 2)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = co.add_weight(self, "depthwise_kernel",
                                              (*self.kernel_size, c, self.depth_multiplier),
                                              "depthwise")
        self._build_rest(c)

    def _build_rest(self, c: int) -> None:
        if self.use_bias:
            self.bias = co.add_weight(self, "bias", (c * self.depth_multiplier,))

    def torch_kernel(self, k: torch.Tensor) -> torch.Tensor:
        """(kh, kw, C, m) -> a view (C m, 1, kh, kw): output channel c m + j is K[:, :, c, j]."""
        kh, kw, c, m = k.shape
        return k.view(kh, kw, c * m).permute(2, 0, 1).unsqueeze(1)

    def _depthwise(self, xt, bias):
        """The depthwise convolution on a torch-order view: (h, backward(dh, need_dx))."""
        pads = [cu.pad_amounts(n, k, s, d, self.padding) for n, k, s, d in
                zip(xt.shape[2:], self.kernel_size, self.strides, self.dilation_rate)]
        return conv_step(xt, self.depthwise_kernel, bias, self.torch_kernel, self.strides, pads,
                         self.dilation_rate, xt.shape[1])

    def forward(self, x, training=False):
        fmt = self.data_format
        z, conv_backward = self._depthwise(cu.to_nchw(x, 2, fmt), self.bias)
        y, act_backward = self.activation.forward_fresh(cu.from_nchw(z, 2, fmt))

        def backward(dy, need_dx=True):
            dx = conv_backward(cu.to_nchw(act_backward(dy), 2, fmt), need_dx)
            return None if dx is None else cu.from_nchw(dx, 2, fmt)
        return y, backward

    def _out_channels(self, c):
        return None if c is None else c * self.depth_multiplier

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        cu.check_rank(self, input_shape, 2)
        sizes = co.output_sizes(self, input_shape, 2)
        c = cu.channels(input_shape, self.data_format)
        return cu.with_spatial(input_shape, sizes, self._out_channels(c), self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), **co.window_config(self),
                "depth_multiplier": self.depth_multiplier, **co.output_config(self),
                **co.weight_config(self, "depthwise")}


class SeparableConv2D(DepthwiseConv2D):
    """`SeparableConv2D(filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
    dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
    depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
    bias_initializer="zeros")` as in Keras 3: depthwise, then a 1x1 convolution to `filters`."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, depthwise_constraint=None, pointwise_constraint=None,
                 bias_constraint=None, **kwargs):
        self.filters = co.positive_int(filters, "filters")
        co.set_weight_options(self, "pointwise", pointwise_initializer, pointwise_regularizer,
                              pointwise_constraint)
        super().__init__(kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self.pointwise_kernel = None

    def _build_rest(self, c: int) -> None:
        self.pointwise_kernel = co.add_weight(self, "pointwise_kernel",
                                              (1, 1, c * self.depth_multiplier, self.filters),
                                              "pointwise")
        if self.use_bias:
            self.bias = co.add_weight(self, "bias", (self.filters,))

    def forward(self, x, training=False):
        fmt = self.data_format
        pointwise, bias = self.pointwise_kernel, self.bias
        ht, depthwise_backward = self._depthwise(cu.to_nchw(x, 2, fmt), None)
        h = ht.permute(0, 2, 3, 1)                      # (N, H', W', C m), channels last
        P = pointwise.value.view(pointwise.shape[2:])   # (C m, filters)
        z = torch.matmul(h, P)
        if bias is not None:
            z += bias.value
        if fmt == "channels_first":
            z = z.permute(0, 3, 1, 2)
        y, act_backward = self.activation.forward_fresh(z)

        def backward(dy, need_dx=True):
            dz = act_backward(dy)
            if fmt == "channels_first":
                dz = dz.permute(0, 2, 3, 1)
            dz2 = dz.reshape(-1, dz.shape[-1])
            if pointwise.trainable:                                   # dP += h^T dz
                pointwise.grad.view(P.shape).addmm_(h.reshape(-1, h.shape[-1]).T, dz2)
            if bias is not None and bias.trainable:
                bias.grad.add_(dz2.sum(0))
            dh = torch.matmul(dz, P.T).permute(0, 3, 1, 2)             # back to torch order
            dx = depthwise_backward(dh, need_dx)
            return None if dx is None else cu.from_nchw(dx, 2, fmt)
        return y, backward

    def _out_channels(self, c):
        return self.filters

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters,
                **co.weight_config(self, "pointwise")}
