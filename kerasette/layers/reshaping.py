"""Layers that only move entries around; each backward moves dy back the same way.

    Flatten          (N, d1, d2, ...) -> (N, d1 * d2 * ...)      dx = dy.reshape(x.shape)
    Reshape(shape)   (N, ...) -> (N, *shape), one -1 inferred    dx = dy.reshape(x.shape)
    Permute(dims)    y = x.permute(0, *dims), dims 1-based       dx = dy.permute(inverse)
    RepeatVector(n)  (N, F) -> (N, n, F), y[:, i] = x            dx = dy.sum(1)
    Identity         y = x                                       dx = dy

Arguments and shapes follow Keras 3 (checked in keras 3.16, `layers/reshaping/` and
`layers/core/identity.py`); none of these layers has weights.
"""

import math
import numbers

import torch

from .base import Layer


class Flatten(Layer):
    """Flattens every sample to a vector, keeping the batch dimension.

    y = x.reshape(N, d1 * d2 * ...)        dx = dy.reshape(N, d1, d2, ...)

    A view when x is contiguous (no copy). An input of shape (N,) becomes (N, 1), as in Keras.
    """

    def forward(self, x, training=False):
        shape = x.shape
        y = x.reshape(shape[0], math.prod(shape[1:]))

        def backward(dy):
            return dy.reshape(shape)
        return y, backward

    def compute_output_shape(self, input_shape) -> tuple:
        rest = tuple(input_shape)[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)


class Reshape(Layer):
    """Reshapes every sample to `target_shape`, keeping the batch dimension.

    Args:
        target_shape: a tuple of positive ints, the per-sample output shape (batch excluded); one
            entry may be -1, inferred from the input's size. (Keras also accepts 0; kerasette
            refuses it, since a zero-size sample is never what was meant.)

    y = x.reshape(N, *target_shape)        dx = dy.reshape(x.shape)
    """

    def __init__(self, target_shape, **kwargs):
        if not isinstance(target_shape, (tuple, list)) or not all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) and (d > 0 or d == -1)
                for d in target_shape) or list(target_shape).count(-1) > 1:
            raise ValueError(f"Invalid target_shape: expected a tuple of positive ints with at most "
                             f"one -1 (batch dimension excluded), received {target_shape!r}")
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)  # validation only

    def compute_output_shape(self, input_shape) -> tuple:
        batch, rest = input_shape[0], tuple(input_shape[1:])
        target = self.target_shape
        if any(d is None for d in rest):
            return (batch, *(None if d == -1 else d for d in target))
        size, known = math.prod(rest), math.prod(d for d in target if d != -1)
        if -1 in target and size % known == 0:
            target = tuple(size // known if d == -1 else d for d in target)
        if math.prod(target) != size:
            raise ValueError(f"Layer '{self.name}' (Reshape) cannot reshape input of shape "
                             f"{tuple(input_shape)} ({size} entries per sample) to target_shape="
                             f"{self.target_shape}")
        return (batch, *target)

    def forward(self, x, training=False):
        shape = x.shape
        try:
            y = x.reshape(shape[0], *self.target_shape)
        except RuntimeError:
            self.compute_output_shape(tuple(shape))  # raises the clear error
            raise

        def backward(dy):
            return dy.reshape(shape)
        return y, backward

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Reorders the axes of every sample; the batch axis stays first.

    Args:
        dims: a permutation of 1, 2, ..., rank - 1 (1-based, the batch axis 0 excluded):
            `Permute((2, 1))` swaps the two axes of a (N, a, b) input, giving (N, b, a).

    y = x.permute(0, *dims)        dx = dy.permute(0, *inverse), inverse[dims[i] - 1] = i + 1
    y is a view of x (no copy), as dx is of dy.
    """

    def __init__(self, dims, **kwargs):
        if not isinstance(dims, (tuple, list)) or not all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in dims) or \
                sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Invalid dims: expected a permutation of 1, ..., n (1-based, the "
                             f"batch axis excluded), e.g. (2, 1), received {dims!r}")
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d - 1] = i + 1
        self._inverse = (0, *inverse)

    def _check_rank(self, shape) -> None:
        if len(shape) != len(self.dims) + 1:
            raise ValueError(f"Layer '{self.name}' (Permute) with dims={self.dims} expects inputs "
                             f"of rank {len(self.dims) + 1} (batch included), received shape "
                             f"{tuple(shape)}")

    def build(self, input_shape) -> None:
        self._check_rank(input_shape)

    def compute_output_shape(self, input_shape) -> tuple:
        self._check_rank(input_shape)
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def forward(self, x, training=False):
        if x.dim() != len(self.dims) + 1:
            self._check_rank(x.shape)
        inverse = self._inverse

        def backward(dy):
            return dy.permute(inverse)
        return x.permute(0, *self.dims), backward

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeats each sample's vector `n` times: (N, F) -> (N, n, F).

    Args:
        n: the number of copies, a positive int.

    y[:, i, :] = x  for i < n        dx = sum_i dy[:, i, :] = dy.sum(1)
    y is a new tensor (as in Keras), not a stride-0 view of x.
    """

    def __init__(self, n, **kwargs):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"Invalid n: expected a positive int, received {n!r}")
        if n <= 0:
            raise ValueError(f"Invalid n: expected a positive int, received {n!r}")
        super().__init__(**kwargs)
        self.n = int(n)

    def _check_rank(self, shape) -> None:
        if len(shape) != 2:
            raise ValueError(f"Layer '{self.name}' (RepeatVector) expects inputs of shape "
                             f"(batch, features), received {tuple(shape)}")

    def build(self, input_shape) -> None:
        self._check_rank(input_shape)

    def compute_output_shape(self, input_shape) -> tuple:
        self._check_rank(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, x, training=False):
        if x.dim() != 2:
            self._check_rank(x.shape)
        y = x.unsqueeze(1).expand(-1, self.n, -1).contiguous()

        def backward(dy):
            return dy.sum(1)
        return y, backward

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


class Identity(Layer):
    """y = x, dx = dy (the same tensors). A placeholder layer, as in Keras.

    Called on a list of tensors it returns them as a list, and its backward returns the list of
    dy as a tuple.
    """

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            return [tuple(s) for s in input_shape]
        return tuple(input_shape)

    def forward(self, x, training=False):
        if isinstance(x, (list, tuple)):
            return list(x), _identity_many
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Layer '{self.name}' (Identity) expects a tensor or a list of "
                            f"tensors, received {type(x).__name__}")
        return x, _identity


def _identity(dy):
    return dy


def _identity_many(dys):
    return tuple(dys)
