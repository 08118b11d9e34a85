"""Normalisation layers: BatchNormalization, LayerNormalization, GroupNormalization (Keras 3.16's
arguments, defaults, weight shapes and formulas).

All three compute, for each group of values normalised together,

    xhat = (x - mean) / sqrt(var + epsilon)        y = gamma * xhat + beta

with the biased variance (divide by the group's size), gamma and beta one per channel / feature.
They differ in what a group is:

    BatchNormalization   one channel (the `axis` entry) over the batch and every other axis;
                         in inference, mean and var are the moving statistics instead
    LayerNormalization   one sample, over the `axis` axes (gamma and beta span those axes)
    GroupNormalization   one sample and one group of channels (`groups` consecutive blocks of the
                         `axis` channels), over every other non-batch axis

The backward formulas are in `kerasette.norm_kernels`. Each layer computes on a 2-D (rows, channels)
or (rows, features) view of its input; when the normalised axis is the last one that is a free
reshape, otherwise the axis is moved there first (a copy).
"""

import numbers

import torch

from .. import norm_kernels
from .batch_normalization import BatchNormalization
from .normalization_common import (
    _Affine,
    _canonical_axis,
    _channel_axis,
    _features_last_2d,
    _moments,
)

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization"]


class LayerNormalization(_Affine):
    """Normalise each sample over the `axis` axes (default -1, the features):

        mean, var over the K values of x at the `axis` axes (biased variance)
        y = gamma * (x - mean) / sqrt(var + epsilon) + beta

    gamma and beta have the input's sizes on the `axis` axes (Keras: axis=[1, 2, 3] on
    (N, 20, 30, 40) gives gamma of shape (20, 30, 40)). Backward: `norm_kernels.layer_norm_backward`.

    Args: axis (int or list of ints, not the batch axis), epsilon (1e-3), center, scale,
    beta/gamma initializers, regularizers and constraints.
    """

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                                   for a in axis):
                raise TypeError(f"Invalid axis: expected an int or a non-empty list of ints, "
                                f"received {axis!r}")
            axis = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = int(axis)
        else:
            raise TypeError(f"Invalid axis: expected an int or a list of ints, received {axis!r}")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        self.axis = axis

    def build(self, input_shape) -> None:
        given = self.axis if isinstance(self.axis, list) else [self.axis]
        axes = sorted(_canonical_axis(a, input_shape, self.name, allow_batch=False) for a in given)
        if len(set(axes)) != len(axes):
            raise ValueError(f"Invalid axis: expected distinct axes, received {self.axis!r}")
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f"Layer '{self.name}' needs known sizes on axis {self.axis}, "
                             f"received input shape {tuple(input_shape)}")
        self._axes = axes
        self._add_affine(shape)

    def forward(self, x, training=False):
        x2, restore = _features_last_2d(x, self._axes)
        mean, var, centred = _moments(x2, 1, keepdim=True, centred=True)
        rstd = torch.rsqrt(var + self.epsilon)
        xhat = centred.mul_(rstd)
        gamma = None if self.gamma is None else self.gamma.value.reshape(-1)
        if gamma is not None and self.beta is not None:
            y2 = torch.addcmul(self.beta.value.reshape(-1), xhat, gamma)
        elif gamma is not None:
            y2 = xhat * gamma
        else:
            y2 = xhat if self.beta is None else xhat + self.beta.value.reshape(-1)
        need = self._need()

        def backward(dy):
            dy2, _ = _features_last_2d(dy, self._axes)
            dx2, dgamma, dbeta = norm_kernels.layer_norm_backward(dy2, x2, mean, rstd, gamma, need)
            self._add_affine_grads(dgamma, dbeta)
            return restore(dx2)
        return restore(y2), backward

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class GroupNormalization(_Affine):
    """Split the `axis` channels (C of them) into `groups` consecutive blocks of C / groups and
    normalise each sample's block over it and every other non-batch axis (Wu and He, 2018):

        x viewed as (N, S, G, C/G)  (S = the product of the other non-batch axes)
        mean, var over (S, C/G) for each (n, g) (biased variance), xhat = (x - mean) * rstd
        y = gamma * xhat + beta          gamma, beta: (C,), one per channel

    Backward, per (n, g) with K = S * C/G values and g_ = dy * gamma:
        dx = rstd / K * (K * g_ - sum(g_) - xhat * sum(g_ * xhat))
        dgamma = sum over (n, s) of dy * xhat          dbeta = sum over (n, s) of dy

    groups=-1 makes one group per channel (instance normalisation), groups=1 one per sample.

    Args: groups (32), axis (int, the channel axis, default -1), epsilon (1e-3), center, scale,
    beta/gamma initializers, regularizers and constraints.
    """

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or (
                groups <= 0 and groups != -1):
            raise ValueError(f"Invalid groups: expected a positive int (or -1 for instance "
                             f"normalization), received {groups!r}")
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Invalid axis: expected an int, received {axis!r}")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        self.groups, self.axis = int(groups), int(axis)

    def build(self, input_shape) -> None:
        axis, channels = _channel_axis(self, input_shape)
        groups = channels if self.groups == -1 else self.groups
        if groups > channels or channels % groups:
            raise ValueError(f"Invalid groups: expected a divisor of the {channels} channels on "
                             f"axis {self.axis}, received {self.groups}")
        self._axis, self._groups = axis, groups
        self._add_affine((channels,))

    def forward(self, x, training=False):
        moved = self._axis != x.dim() - 1
        xc = x.movedim(self._axis, -1) if moved else x
        N, C, G = x.shape[0], x.shape[self._axis], self._groups
        x4 = xc.reshape(N, -1, G, C // G)                        # (N, S, G, C/G)
        mean, var, centred = _moments(x4, (1, 3), keepdim=True, centred=True)
        rstd = torch.rsqrt(var + self.epsilon)
        xhat = centred.mul_(rstd)
        gamma = None if self.gamma is None else self.gamma.value.view(G, C // G)
        y4 = xhat if gamma is None else xhat * gamma
        if self.beta is not None:
            y4 = y4 + self.beta.value.view(G, C // G)
        need = self._need()

        def restore(t4):
            t = t4.reshape(xc.shape)
            return t.movedim(-1, self._axis) if moved else t

        def backward(dy):
            dy4 = (dy.movedim(self._axis, -1) if moved else dy).reshape(x4.shape)
            g = dy4 if gamma is None else dy4 * gamma
            K = x4.shape[1] * x4.shape[3]
            sum_g = g.sum((1, 3), keepdim=True)
            sum_g_xhat = (g * xhat).sum((1, 3), keepdim=True)
            dx4 = rstd / K * (K * g - sum_g - xhat * sum_g_xhat)
            dgamma = (dy4 * xhat).sum((0, 1)) if need[1] else None
            dbeta = dy4.sum((0, 1)) if need[2] else None
            self._add_affine_grads(dgamma, dbeta)
            return restore(dx4)
        return restore(y4), backward

    def get_config(self) -> dict:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis}
