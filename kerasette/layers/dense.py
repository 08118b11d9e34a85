"""`Dense`: a fully connected layer, y = act(x @ W + b), with Keras's kernel layout.

Shapes: x (N, in) -> y (N, units); W (in, units); b (units,). Inputs of higher rank (N, ..., in) are
treated as a batch of N * ... rows: the matmuls run on the 2-D view and the result is reshaped back.

    forward                      backward (given dy = dL/dy)
    z = x @ W + b                dz = act'(z) * dy        (the activation's own backward)
    y = act(z)                   dW += x^T @ dz           (skipped if W is frozen)
                                 db += sum_rows(dz)       (skipped if b is frozen)
                                 dx  = dz @ W^T
"""

import numbers

import torch

from .. import activations, constraints, regularizers
from .. import initializers as inits
from .base import Layer


class Dense(Layer):
    """Fully connected layer `y = activation(x @ kernel + bias)`.

    Args:
        units: number of output features (a positive int).
        activation: a name (see `kerasette.activations`), None for linear, or an activation object.
        use_bias: add the bias vector b.
        kernel_initializer, bias_initializer: initializer names, objects or config dicts.
        kernel_regularizer, bias_regularizer: None, a name ("l1", "l2", "l1_l2") or a regularizer
            (`kerasette.regularizers`): its penalty is added to the training loss.
        kernel_constraint, bias_constraint: None, a name ("max_norm", "non_neg", "unit_norm") or
            a constraint (`kerasette.constraints`), applied after each optimizer step.
        name, trainable: see `Layer`. `trainable=False` freezes both weights.
        input_shape: per-sample input shape, for Keras scripts that start a Sequential model with
            `Dense(units, input_shape=(n,))` (prefer `ks.Input((n,))`).
    """

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    skips_input_grad = True
    overwrites_grads = True  # backward(dy, overwrite=True) writes dW, db instead of adding (see base)

    def __init__(self, units, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
            raise ValueError(f"Invalid units: expected a positive integer, received {units!r}")
        if not isinstance(use_bias, bool):
            raise TypeError(f"Invalid use_bias: expected a bool, received {use_bias!r}")
        act = activations.get(activation)
        kernel_init = inits.get(kernel_initializer)
        bias_init = inits.get(bias_initializer)
        kernel_reg, bias_reg = regularizers.get(kernel_regularizer), regularizers.get(bias_regularizer)
        kernel_con, bias_con = constraints.get(kernel_constraint), constraints.get(bias_constraint)
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = act
        self.use_bias = use_bias
        self.kernel_initializer = kernel_init
        self.bias_initializer = bias_init
        self.kernel_regularizer, self.bias_regularizer = kernel_reg, bias_reg
        self.kernel_constraint, self.bias_constraint = kernel_con, bias_con
        self.kernel = None
        self.bias = None

    def build(self, input_shape) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Layer '{self.name}' expects inputs of shape (batch, ..., features) "
                             f"with a known feature size, received {tuple(input_shape)}")
        in_features = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", (in_features, self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            bias_init = self.bias_initializer
            if type(bias_init) is inits.TorchDefault and bias_init.fan_in is None:
                # torch.Linear's bias bound is 1/sqrt(in_features), not 1/sqrt(units)
                bias_init = inits.TorchDefault(fan_in=in_features, seed=bias_init.seed)
            self.bias = self.add_weight("bias", (self.units,), bias_init,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def forward(self, x: torch.Tensor, training: bool = False):
        """`(y, backward)`: y = activation(x W + b)."""
        kernel, bias = self.kernel, self.bias
        W = kernel.value
        x2 = x if x.dim() == 2 else x.reshape(-1, x.shape[-1])
        z2 = torch.addmm(bias.value, x2, W) if bias is not None else torch.mm(x2, W)
        z = z2 if x.dim() == 2 else z2.view(*x.shape[:-1], self.units)
        y, act_backward = self.activation.forward_fresh(z)  # z is ours: in place

        def backward(dy, need_dx=True, overwrite=False):
            dz = act_backward(dy)
            dz2 = dz if dz.dim() == 2 else dz.reshape(-1, self.units)
            if kernel.trainable:
                if overwrite:                          # the step's first gradient: write it
                    torch.mm(x2.T, dz2, out=kernel.grad)
                else:
                    kernel.grad.addmm_(x2.T, dz2)      # dW += x^T dz
            if bias is not None and bias.trainable:
                if overwrite:
                    torch.sum(dz2, 0, out=bias.grad)
                else:
                    bias.grad.add_(dz2.sum(0))         # db += sum over rows
            if not need_dx:                            # first trained layer: nobody needs dx
                return None
            dx2 = torch.mm(dz2, W.T)                   # dx = dz W^T
            return dx2 if x.dim() == 2 else dx2.view(x.shape)
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": inits.serialize(self.kernel_initializer),
                "bias_initializer": inits.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}

