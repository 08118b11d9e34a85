"""Noise layers, active in training only (identity, y = x and dx = dy, at inference):
SpatialDropout1D/2D, GaussianNoise, GaussianDropout (Keras 3.16's arguments and formulas).

    SpatialDropout1D   (N, T, C): one keep/drop draw per (sample, channel), shared by all T steps
    SpatialDropout2D   (N, H, W, C) (channels_last) or (N, C, H, W): one draw per (sample, channel)
                       mask = [u >= rate] / (1 - rate)     y = x * mask      dx = dy * mask
    GaussianNoise      y = x + n,  n ~ N(0, stddev^2)                          dx = dy
    GaussianDropout    y = x * n,  n ~ N(1, rate / (1 - rate))                 dx = dy * n

Like `Dropout`, each layer draws from its own generator, seeded by `seed` (or by kerasette's global
stream, see `ks.utils.set_random_seed`), never from torch's global RNG, in float32 whatever the
input dtype (so float32 and float64 runs draw the same noise).
"""

import math
import numbers

import torch

from ..random_state import make_generator
from .base import Layer
from .dropout import Dropout


class _SpatialDropout(Dropout):
    """Dropout whose mask is drawn once per (sample, channel) and broadcast over the other axes."""

    supports_masking = False  # as Keras's SpatialDropout: a mask stops here

    rank = None  # the input rank the layer takes

    def build(self, input_shape) -> None:
        if len(input_shape) != self.rank:
            raise ValueError(f"Layer '{self.name}' expects inputs of rank {self.rank}, received "
                             f"shape {tuple(input_shape)}")

    def _noise_shape(self, shape) -> tuple:
        raise NotImplementedError

    def _mask(self, x):
        gen = self._generator(x.device)
        u = torch.rand(self._noise_shape(x.shape), generator=gen, dtype=torch.float32,
                       device=gen.device)
        keep = (u >= self.rate).to(device=x.device, dtype=x.dtype)
        return keep.mul_(1.0 / (1.0 - self.rate))


class SpatialDropout1D(_SpatialDropout):
    """Drop whole channels of a (N, T, C) sequence: mask shape (N, 1, C)."""

    rank = 3

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def _noise_shape(self, shape):
        return (shape[0], 1, shape[2])


class SpatialDropout2D(_SpatialDropout):
    """Drop whole feature maps of a 4-D input: mask (N, 1, 1, C) for channels_last (the default),
    (N, C, 1, 1) for channels_first."""

    rank = 4

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        data_format = "channels_last" if data_format is None else data_format
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Invalid data_format: expected 'channels_last' or 'channels_first', "
                             f"received {data_format!r}")
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = data_format

    def _noise_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class _Noise(Layer):
    """A layer with its own seeded generators (one per device), as `Dropout` keeps them."""

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    def __init__(self, seed=None, **kwargs):
        generator = make_generator(seed)  # validates seed
        super().__init__(**kwargs)
        self.seed = seed
        self._generators = {torch.device("cpu"): generator}

    rng_generators = Dropout.rng_generators
    _generator = Dropout._generator

    def _normal(self, x):
        """N(0, 1) noise with the shape, dtype and device of x, drawn in float32."""
        gen = self._generator(x.device)
        z = torch.randn(x.shape, generator=gen, dtype=torch.float32, device=gen.device)
        return z.to(device=x.device, dtype=x.dtype)


class GaussianNoise(_Noise):
    """Add N(0, stddev^2) noise in training (Keras allows 0 <= stddev <= 1)."""

    def __init__(self, stddev, seed=None, **kwargs):
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or not (
                0 <= stddev <= 1):
            raise ValueError(f"Invalid stddev: expected a float in [0, 1], received {stddev!r}")
        super().__init__(seed, **kwargs)
        self.stddev = float(stddev)

    def forward(self, x, training=False):
        if not training or self.stddev == 0:
            return x, _identity
        return x + self._normal(x).mul_(self.stddev), _identity

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiply by N(1, rate / (1 - rate)) noise in training (0 <= rate < 1)."""

    def __init__(self, rate, seed=None, **kwargs):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not (0 <= rate < 1):
            raise ValueError(f"Invalid rate: expected a float in [0, 1), received {rate!r}")
        super().__init__(seed, **kwargs)
        self.rate = float(rate)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x, _identity
        noise = self._normal(x).mul_(math.sqrt(self.rate / (1.0 - self.rate))).add_(1.0)
        y = x * noise

        def backward(dy):
            return dy * noise
        return y, backward

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def _identity(dy):
    return dy
