"""`ks.random`: Keras 3's `keras.random` — random tensors on data, and inside a traced call() as
graph nodes that draw again at every run (a VAE's sampling layer, a custom noise layer):

    class Sampling(ks.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = ks.random.SeedGenerator(1337)
        def call(self, inputs):
            z_mean, z_log_var = inputs
            eps = ks.random.normal(ks.ops.shape(z_mean), seed=self.seed_generator)
            return z_mean + ks.ops.exp(0.5 * z_log_var) * eps

Seeds, as in Keras: None draws from kerasette's own stream (`ks.utils.set_random_seed`); a
`SeedGenerator` advances its state at every draw; an int gives the same numbers at every call.
Draws are made on the CPU and moved to the data's device.

In a traced call() a shape may start with None (the batch, `ks.ops.shape(x)[0]`); the node hangs
from the call's first input and takes its batch size. A drawn tensor is a source: no gradient flows
into it (the reparameterisation above trains z_mean and z_log_var). `dropout(x, rate)` zeroes each
entry with probability `rate` and scales the rest by 1 / (1 - rate), always (the caller decides when,
as Keras's `if training:`, which a traced layer's call() may hold):

    y = x * m / (1 - rate)         dx = dy * m / (1 - rate)          m ~ Bernoulli(1 - rate)
"""

import numbers

import torch

from . import config
from .random_state import global_generator, make_generator


class SeedGenerator:
    """A random state that advances at every draw (Keras's `keras.random.SeedGenerator`); a
    layer holding one saves and restores it with the run (`Layer.rng_generators`)."""

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                                 or seed < 0):
            raise ValueError(f"Invalid seed: expected None or a non-negative int, received "
                             f"{seed!r}")
        self.generator = make_generator(None if seed is None else int(seed))
        self.name = name or "seed_generator"

    def __repr__(self):
        return f"<SeedGenerator {self.name}>"


def _generator(seed) -> torch.Generator:
    if seed is None:
        return global_generator()
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"Invalid seed: expected None, a non-negative int or a SeedGenerator, "
                         f"received {seed!r}")
    return torch.Generator().manual_seed(int(seed))  # an int: the same draw at every call


def _float_dtype(dtype):
    from .ops.core import standardize_dtype

    dtype = standardize_dtype(dtype) or config.floatx_dtype()
    if not dtype.is_floating_point:
        raise ValueError(f"Invalid dtype: expected a float type, received {dtype}")
    return dtype


# ----- the draws, on data --------------------------------------------------------------------------
def _draw(kind: str, shape: tuple, params: dict, dtype, generator) -> torch.Tensor:
    if kind == "normal":
        t = torch.randn(shape, generator=generator, dtype=dtype)
        return t.mul_(params["stddev"]).add_(params["mean"])
    if kind == "uniform":
        t = torch.rand(shape, generator=generator, dtype=dtype)
        return t.mul_(params["maxval"] - params["minval"]).add_(params["minval"])
    if kind == "truncated_normal":  # redraw beyond two standard deviations, as Keras
        t = torch.randn(shape, generator=generator, dtype=dtype)
        while bool((bad := t.abs() > 2).any()):
            t[bad] = torch.randn(int(bad.sum()), generator=generator, dtype=dtype)
        return t.mul_(params["stddev"]).add_(params["mean"])
    raise ValueError(f"Invalid kind: {kind!r}")


def _random(kind: str, shape, params: dict, dtype, seed):
    from .graph.tracing import current_trace

    if current_trace() is not None:  # a node that draws at every run (fill_layers.RandomOp)
        from .ops.fill_layers import random_node

        return random_node(kind, shape, params, _float_dtype(dtype), seed)
    from .ops.numpy import _shape

    return _draw(kind, _shape(shape), params, _float_dtype(dtype), _generator(seed))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws N(mean, stddev^2) of `shape`."""
    return _random("normal", shape, {"mean": float(mean), "stddev": float(stddev)}, dtype, seed)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform draws in [minval, maxval) of `shape`."""
    return _random("uniform", shape, {"minval": float(minval), "maxval": float(maxval)}, dtype,
                   seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws of `shape`, redrawn where more than two standard deviations out."""
    return _random("truncated_normal", shape, {"mean": float(mean), "stddev": float(stddev)},
                   dtype, seed)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers in [minval, maxval) of `shape` (data only: no gradient could flow through them)."""
    from .ops.core import standardize_dtype
    from .ops.numpy import _shape

    return torch.randint(int(minval), int(maxval), _shape(shape), generator=_generator(seed),
                         dtype=standardize_dtype(dtype))


def shuffle(x, axis=0, seed=None):
    """`x` with its entries along `axis` in a random order (data only)."""
    from .ops.core import tensor

    t = tensor(x)
    perm = torch.randperm(t.shape[axis], generator=_generator(seed)).to(t.device)
    return t.index_select(axis, perm)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Each entry zeroed with probability `rate`, the others scaled by 1 / (1 - rate);
    `noise_shape` (broadcast to the input's) shares one draw along axes of size 1."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(f"Invalid rate: expected a float in [0, 1), received {rate!r}")
    from .graph.symbolic import is_symbolic

    if is_symbolic(inputs):
        from .ops.fill_layers import DropoutOp

        return DropoutOp(float(rate), noise_shape, seed)(inputs)
    from .ops.core import float_tensor

    return dropout_forward(float_tensor(inputs), float(rate), noise_shape, _generator(seed))[0]


def dropout_forward(x: torch.Tensor, rate: float, noise_shape, generator):
    """`(y, backward)` of dropout on data (see the module docstring)."""
    shape = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    keep = 1.0 - rate
    mask = (torch.rand(shape, generator=generator) < keep).to(device=x.device, dtype=x.dtype)
    mask = mask.div_(keep) if keep > 0 else mask
    return x * mask, lambda dy: dy * mask


__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "shuffle",
           "dropout"]
