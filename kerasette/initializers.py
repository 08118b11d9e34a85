"""Weight initializers (Keras 3 names), each a callable `init(shape, dtype=None) -> Tensor`.

Fan rules (as in Keras): for a 2-D kernel of shape (fan_in, fan_out) — Dense's
(in_features, units) — fan_in = shape[0] and fan_out = shape[1]. For a convolution kernel
(kh, kw, in, out) the receptive field kh*kw multiplies both: fan_in = in*kh*kw,
fan_out = out*kh*kw. A 1-D shape (a bias) has fan_in = fan_out = shape[0]; a scalar has 1.

Randomness is seeded: an initializer built with `seed=s` gives the same tensor every time it is
called with the same shape; without a seed it draws from kerasette's global stream
(`ks.utils.set_random_seed`). Values are drawn on the CPU, so they do not depend on the device.
"""

import math

import torch

from . import config
from .random_state import global_generator, make_generator


def compute_fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, by the rules in the module docstring."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement `sample(shape, generator) -> float64 CPU tensor`."""

    def __init__(self, seed: int | None = None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"Invalid seed: expected None or a non-negative int, "
                             f"received {seed!r}")
        self.seed = seed

    def __call__(self, shape, dtype=None) -> torch.Tensor:
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"Invalid shape: expected non-negative sizes, received {shape}")
        dtype = _torch_dtype(dtype)
        gen = global_generator() if self.seed is None else make_generator(self.seed)
        return self.sample(shape, gen).to(dtype)

    def sample(self, shape, generator) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"seed": self.seed}

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class Constant(Initializer):
    """Every entry equals `value`."""

    def __init__(self, value: float = 0.0):
        super().__init__(None)
        self.value = _real("value", value)

    def sample(self, shape, generator):
        return torch.full(shape, self.value, dtype=torch.float64)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    """All zeros (Keras's default bias initializer)."""

    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    """All ones."""

    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class RandomNormal(Initializer):
    """N(mean, stddev^2). With the defaults mean=0, stddev=1 this is the seeds' N(0, 1).

    Note Keras's RandomNormal defaults to stddev=0.05; the string "random_normal" here follows the
    seed reports (N(0, 1)) as DESIGN.md asks. Pass `RandomNormal(stddev=0.05)` for Keras's.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        if not _real("stddev", stddev) >= 0:
            raise ValueError(f"Invalid stddev: expected >= 0, received {stddev!r}")
        self.mean, self.stddev = _real("mean", mean), float(stddev)

    def sample(self, shape, generator):
        normal = torch.randn(shape, generator=generator, dtype=torch.float64)
        return normal * self.stddev + self.mean

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """U(minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        if not _real("maxval", maxval) >= _real("minval", minval):
            raise ValueError(f"Invalid maxval: expected >= minval={minval}, received {maxval!r}")
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape, generator):
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        return u.mul_(self.maxval - self.minval).add_(self.minval)  # in place: no temporaries

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(Initializer):
    """Variance `scale / n` where n is fan_in, fan_out or their mean (`mode`).

    distribution "uniform": U(±sqrt(3 * scale / n)); "normal": N(0, scale / n) (plain normal);
    "truncated_normal": normal truncated at 2 std and rescaled by 1/0.87962566 as Keras does.
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("uniform", "normal", "truncated_normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if not _real("scale", scale) > 0:
            raise ValueError(f"Invalid scale: expected > 0, received {scale!r}")
        if mode not in self.MODES:
            raise ValueError(f"Invalid mode: expected one of {self.MODES}, received {mode!r}")
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"Invalid distribution: expected one of {self.DISTRIBUTIONS}, "
                             f"received {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def sample(self, shape, generator):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            u = torch.rand(shape, generator=generator, dtype=torch.float64)
            return u.mul_(2).sub_(1).mul_(limit)  # (2u - 1) * limit, in place: no temporaries
        if self.distribution == "normal":
            return torch.randn(shape, generator=generator, dtype=torch.float64).mul_(math.sqrt(var))
        std = math.sqrt(var) / 0.87962566103423978
        out = torch.randn(shape, generator=generator, dtype=torch.float64)
        bad = out.abs() > 2
        while bad.any():  # resample outside ±2 std (rejection sampling)
            out[bad] = torch.randn(int(bad.sum()), generator=generator, dtype=torch.float64)
            bad = out.abs() > 2
        return out * std

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class GlorotUniform(VarianceScaling):
    """U(±sqrt(6 / (fan_in + fan_out))): Keras's default kernel initializer."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class _Gained(Initializer):
    """An initializer scaled by a positive `gain` (GlorotNormal, Orthogonal)."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        if not _real("gain", gain) > 0:
            raise ValueError(f"Invalid gain: expected > 0, received {gain!r}")
        self.gain = float(gain)


class GlorotNormal(_Gained):
    """Xavier normal: N(0, gain^2 * 2 / (fan_in + fan_out)) — the seeds' Xavier init, with `gain`.

    gain=1 is Keras's GlorotNormal except that Keras truncates at 2 std; this one is a plain normal,
    as in the seed reports and PyTorch's `init.xavier_normal_`.
    """


    def sample(self, shape, generator):
        fan_in, fan_out = compute_fans(shape)
        std = self.gain * math.sqrt(2.0 / max(1, fan_in + fan_out))  # max: zero-size shapes
        return torch.randn(shape, generator=generator, dtype=torch.float64) * std

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class HeUniform(VarianceScaling):
    """U(±sqrt(6 / fan_in)), for ReLU nets."""

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    """Truncated N(0, 2 / fan_in), as Keras."""

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    """U(±sqrt(3 / fan_in))."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    """Truncated N(0, 1 / fan_in), as Keras."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class TorchDefault(Initializer):
    """U(±1/sqrt(fan_in)): what PyTorch's Linear gives its weight and bias (seed 004's choice).

    For a bias, pass the fan-in of its layer: `TorchDefault(fan_in=in_features)`; without it the
    bias shape's own length is used.
    """

    def __init__(self, fan_in: int | None = None, seed: int | None = None):
        super().__init__(seed)
        if fan_in is not None and (isinstance(fan_in, bool) or not isinstance(fan_in, int)
                                   or fan_in < 1):
            raise ValueError(f"Invalid fan_in: expected None or a positive int, "
                             f"received {fan_in!r}")
        self.fan_in = fan_in

    def sample(self, shape, generator):
        fan_in = self.fan_in or max(1, compute_fans(shape)[0])  # max: zero-size shapes
        bound = 1.0 / math.sqrt(fan_in)
        return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound

    def get_config(self):
        return {"fan_in": self.fan_in, "seed": self.seed}


class Orthogonal(_Gained):
    """gain * Q, Q orthogonal (Keras's Orthogonal; Saxe et al. 2014), for shapes of 2+ dims.

    The shape is flattened to (rows, cols) = (prod(shape[:-1]), shape[-1]); A ~ N(0, 1) of shape
    (max(rows, cols), min(rows, cols)) is QR-decomposed, A = QR, and Q's columns are multiplied by
    sign(diag(R)). Q (transposed when rows < cols) has orthonormal columns (rows when wide).
    """


    def sample(self, shape, generator):
        if len(shape) < 2:
            raise ValueError(f"Invalid shape for Orthogonal: expected at least 2 dims, "
                             f"received {shape} of rank {len(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = torch.randn(max(rows, cols), min(rows, cols), generator=generator, dtype=torch.float64)
        q, r = torch.linalg.qr(a)  # reduced: q is (max, min) with orthonormal columns
        q = q * torch.sign(torch.diagonal(r))  # column-wise: makes Q unique (Haar-distributed)
        if rows < cols:
            q = q.T
        return (q * self.gain).reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_REGISTRY = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "xavier_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "uniform": RandomUniform,  # Keras's alias (Embedding's default): U(-0.05, 0.05)
    "variance_scaling": VarianceScaling, "torch_default": TorchDefault,
    "orthogonal": Orthogonal,
    "zeros": Zeros, "ones": Ones, "constant": Constant,
}


def get(identifier) -> Initializer:
    """An initializer from a string id, an Initializer, a callable `(shape, dtype) -> Tensor`,
    or a config dict `{"class_name": ..., "config": {...}}`."""
    if isinstance(identifier, Initializer) or (callable(identifier)
                                              and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, dict):
        cls = _REGISTRY.get(_snake(identifier.get("class_name", "")))
        if cls is None:
            raise ValueError(f"Unknown initializer config: {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _REGISTRY.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown initializer: {identifier!r}; expected one of "
                             f"{sorted(_REGISTRY)}, an Initializer or a callable")
        return cls()
    raise TypeError(f"Invalid initializer: expected a string, an Initializer or a callable, "
                    f"received {type(identifier).__name__}")


def serialize(init) -> dict | str:
    """A config dict for a registered initializer (so models save without pickling code)."""
    for key, cls in _REGISTRY.items():
        if type(init) is cls:
            return {"class_name": key, "config": init.get_config()}
    raise ValueError(f"Cannot serialize custom initializer {init!r}; use a built-in one to save")


def _real(name: str, value) -> float:
    """`value` (a number, or a one-element tensor or array) as a float, or a TypeError naming
    the argument."""
    if not isinstance(value, (bool, str)):
        try:
            return float(value)
        except (TypeError, ValueError, RuntimeError):
            pass
    raise TypeError(f"Invalid {name}: expected a real number, received {value!r}")


def _torch_dtype(dtype) -> torch.dtype:
    """None (kerasette's floatx), a torch dtype, or its name ("float32", as Keras takes)."""
    if dtype is None:
        return config.floatx_dtype()
    if isinstance(dtype, str):
        resolved = getattr(torch, dtype, None)
        if not isinstance(resolved, torch.dtype):
            raise ValueError(f"Invalid dtype: expected a torch dtype or its name, "
                             f"received {dtype!r}")
        dtype = resolved
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"Invalid dtype: expected a torch dtype or its name, received {dtype!r}")
    return dtype


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return out
