"""What the three normalisation layers share: `_Affine` (epsilon, center, scale and beta / gamma's
initializers, regularizers and constraints, with Keras's names and defaults) and the helpers that
compute moments and view an input as a 2-D (rows, channels) or (rows, features) tensor."""

import math
import numbers

from .. import constraints, regularizers
from .. import initializers as inits
from .base import Layer


class _Affine(Layer):
    """Shared arguments of the three layers: epsilon, center, scale and beta/gamma's initializers,
    regularizers and constraints (Keras's names and defaults)."""

    def __init__(self, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not (
                math.isfinite(epsilon) and epsilon > 0):
            raise ValueError(f"Invalid epsilon: expected a positive float, received {epsilon!r}")
        for name, value in (("center", center), ("scale", scale)):
            if not isinstance(value, bool):
                raise TypeError(f"Invalid {name}: expected a bool, received {value!r}")
        beta_init, gamma_init = inits.get(beta_initializer), inits.get(gamma_initializer)
        beta_reg, gamma_reg = regularizers.get(beta_regularizer), regularizers.get(gamma_regularizer)
        beta_con, gamma_con = constraints.get(beta_constraint), constraints.get(gamma_constraint)
        super().__init__(**kwargs)
        self.epsilon, self.center, self.scale = float(epsilon), center, scale
        self.beta_initializer, self.gamma_initializer = beta_init, gamma_init
        self.beta_regularizer, self.gamma_regularizer = beta_reg, gamma_reg
        self.beta_constraint, self.gamma_constraint = beta_con, gamma_con
        self.gamma = self.beta = None

    def _add_affine(self, shape) -> None:
        """gamma then beta, Keras's creation order."""
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)

    def _add_affine_grads(self, dgamma, dbeta) -> None:
        if dgamma is not None:
            self.gamma.grad.add_(dgamma.view(self.gamma.shape))
        if dbeta is not None:
            self.beta.grad.add_(dbeta.view(self.beta.shape))

    def _need(self) -> tuple:
        """(dx, dgamma, dbeta): which gradients a backward must compute."""
        return (True, self.gamma is not None and self.gamma.trainable,
                self.beta is not None and self.beta.trainable)

    def get_config(self) -> dict:
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                "beta_initializer": inits.serialize(self.beta_initializer),
                "gamma_initializer": inits.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


def _moments(x, dims, keepdim=False, centred=False):
    """(mean, biased variance) over `dims` (and x - mean if `centred`), in two passes.

    Not `torch.var_mean`: on the CPU it takes a slow path for these layouts (a (16384, 32) tensor:
    ~35 ms against ~0.2 ms for the two passes here, one thread)."""
    mean = x.mean(dims, keepdim=True)
    d = x - mean
    var = (d * d).mean(dims, keepdim=keepdim)
    mean = mean if keepdim else mean.squeeze(dims)
    return (mean, var, d) if centred else (mean, var)


def _canonical_axis(axis: int, input_shape, layer_name: str, allow_batch: bool) -> int:
    """`axis` as a non-negative index into `input_shape`, or a ValueError naming it."""
    rank = len(input_shape)
    index = axis + rank if axis < 0 else axis
    if not (0 <= index < rank) or (index == 0 and not allow_batch):
        raise ValueError(f"Invalid axis: expected an axis of the input other than the batch axis "
                         f"(layer '{layer_name}', input shape {tuple(input_shape)}), received "
                         f"{axis}")
    return index


def _channel_axis(layer, input_shape) -> tuple[int, int]:
    """`(axis, channels)`: `layer.axis` as a non-negative index (not the batch axis) and the input's
    size there, which must be known; a ValueError otherwise."""
    axis = _canonical_axis(layer.axis, input_shape, layer.name, allow_batch=False)
    channels = input_shape[axis]
    if channels is None:
        raise ValueError(f"Layer '{layer.name}' needs a known size on axis {layer.axis}, "
                         f"received input shape {tuple(input_shape)}")
    return axis, channels


def _channels_last_2d(x, axis: int):
    """(x as (M, C) with the channel axis last, a function mapping such a 2-D tensor back)."""
    if axis == x.dim() - 1:
        return x.reshape(-1, x.shape[-1]), lambda t: t.view(x.shape)
    moved = x.movedim(axis, -1)
    return moved.reshape(-1, x.shape[axis]), lambda t: t.view(moved.shape).movedim(-1, axis)


def _features_last_2d(x, axes: list):
    """(x as (M, K) with the normalised axes flattened last, a function mapping back)."""
    rest = [a for a in range(x.dim()) if a not in axes]
    order = rest + list(axes)
    if order == list(range(x.dim())):
        K = math.prod(x.shape[a] for a in axes)
        return x.reshape(-1, K), lambda t: t.reshape(x.shape)
    moved = x.permute(order)
    inverse = [order.index(a) for a in range(x.dim())]
    K = math.prod(moved.shape[len(rest):])
    return moved.reshape(-1, K), lambda t: t.reshape(moved.shape).permute(inverse)
