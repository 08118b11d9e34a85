"""`Normalization`: Keras's preprocessing layer that standardises features with statistics of the
data, set once by `adapt(data)` (or given as `mean=` / `variance=`):

    norm = ks.layers.Normalization()          # one mean and variance per feature (axis=-1)
    norm.adapt(x_train)
    model = ks.Sequential([ks.Input((8,)), norm, ks.layers.Dense(1)])

    y = (x - mean) / max(sqrt(variance), 1e-7)        dx = dy / max(sqrt(variance), 1e-7)
    invert=True:  y = mean + x * max(sqrt(variance), 1e-7)

`axis` names the axes that keep their own statistics (an int, a tuple, or None for one mean and
variance over everything); `adapt` averages over the others, with the population variance, as Keras
3 does. The statistics are layer state (never trained) in Keras's weight order: mean, variance and
a count that Keras keeps only for old saved models (left 0 here as there).
"""

import math
import numbers

import numpy as np
import torch

from .base import Layer

EPSILON = 1e-7  # Keras's backend.epsilon(), the floor of the standard deviation


class Normalization(Layer):
    """Standardise with adapted (or given) mean and variance; see the module docstring."""

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is not None and not isinstance(axis, (int, tuple, list)) or isinstance(axis, bool) \
                or isinstance(axis, (tuple, list)) and not all(
                    isinstance(a, int) and not isinstance(a, bool) for a in axis):
            raise ValueError(f"Invalid axis: expected an int, a tuple of ints or None, received "
                             f"{axis!r}")
        if (mean is None) != (variance is None):
            raise ValueError(f"Invalid mean/variance: give both or neither, received "
                             f"mean={mean!r}, variance={variance!r}")
        self.axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        self.input_mean, self.input_variance = _plain(mean), _plain(variance)
        self.invert = bool(invert)
        self.mean = self.variance = self.count = None

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"Invalid axis: {self.axis} for inputs with {ndim} axes")
        keep = tuple(sorted(a % ndim for a in self.axis))
        if 0 in keep or any(input_shape[a] is None for a in keep):
            raise ValueError(f"Invalid axis: the axes that keep their own statistics need a known "
                             f"size and cannot be the batch axis, received axis={self.axis} for "
                             f"inputs of shape {tuple(input_shape)}")
        self._reduce = tuple(a for a in range(ndim) if a not in keep)
        self._view = tuple(input_shape[a] if a in keep else 1 for a in range(ndim))[1:]
        shape = tuple(input_shape[a] for a in keep)
        self.mean = self.add_state("mean", shape, "zeros")
        self.variance = self.add_state("variance", shape, "ones")
        self.count = self.add_state("count", (), "zeros")
        if self.input_mean is not None:
            for w, value in ((self.mean, self.input_mean), (self.variance, self.input_variance)):
                w.value.copy_(torch.as_tensor(value, dtype=w.value.dtype).broadcast_to(shape))

    def adapt(self, data) -> None:
        """Set mean and variance from `data`: an array or tensor (batch axis first), or an iterable
        of such batches (a list, a generator, a DataLoader; a batch `(x, y)` uses x). Statistics
        are gathered in float64 and combined across batches exactly (counts, means and summed
        squared deviations)."""
        if self.input_mean is not None:
            raise ValueError(f"Layer '{self.name}' was given mean and variance; adapt() would "
                             f"replace them (make the layer without them to adapt it)")
        batches = [data] if isinstance(data, (np.ndarray, torch.Tensor)) else data
        if not hasattr(batches, "__iter__") or isinstance(batches, (str, bytes, dict)):
            raise TypeError(f"Invalid data: expected an array, a tensor or an iterable of batches, "
                            f"received {type(data).__name__}")
        n, mean, m2 = 0, None, None
        for batch in batches:
            batch = batch[0] if _is_pair(batch) else batch
            x = torch.as_tensor(batch if isinstance(batch, torch.Tensor) else np.asarray(batch),
                                dtype=torch.float64)
            if not self.built:
                self._maybe_build((None, *x.shape[1:]))
            if tuple(x.shape[1:]) != tuple(self.input_spec):
                raise ValueError(f"Invalid data: layer '{self.name}' was built for samples of "
                                 f"shape {tuple(self.input_spec)}, received a batch of shape "
                                 f"{tuple(x.shape)}")
            k = math.prod(x.shape[a] for a in self._reduce)
            if k == 0:
                continue
            b_mean = x.mean(self._reduce)
            b_m2 = ((x - b_mean.reshape((1, *self._view))) ** 2).sum(self._reduce)
            if mean is None:
                n, mean, m2 = k, b_mean, b_m2
                continue
            delta = b_mean - mean  # Chan et al.'s pairwise combination
            total = n + k
            mean = mean + delta * (k / total)
            m2 = m2 + b_m2 + delta ** 2 * (n * k / total)
            n = total
        if mean is None:
            raise ValueError(f"Invalid data: adapt() of layer '{self.name}' received no samples")
        self.mean.value.copy_(mean.to(self.mean.value.dtype))
        self.variance.value.copy_((m2 / n).to(self.variance.value.dtype))

    def forward(self, x, training=False):
        if not x.is_floating_point():
            x = x.to(self.mean.value.dtype)
        mean = self.mean.value.to(x.dtype).reshape(self._view)
        std = self.variance.value.to(x.dtype).sqrt().clamp_min(EPSILON).reshape(self._view)
        if self.invert:
            return mean + x * std, lambda dy: dy * std
        return (x - mean) / std, lambda dy: dy / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": None if not self.axis else (
            self.axis[0] if len(self.axis) == 1 else list(self.axis)),
            "mean": self.input_mean, "variance": self.input_variance, "invert": self.invert}


def _plain(value):
    """A given mean / variance as a number or nested lists (JSON in get_config)."""
    if value is None or isinstance(value, numbers.Real):
        return None if value is None else float(value)
    return np.asarray(value, dtype=np.float64).tolist()


def _is_pair(batch) -> bool:
    """A batch given as (x, y) or (x, y, sample_weight), not a plain list of samples."""
    return isinstance(batch, tuple) and 2 <= len(batch) <= 3 and hasattr(batch[0], "shape")
