"""`Flatten`: (N, d1, d2, ...) -> (N, d1 * d2 * ...); backward reshapes dy back to x's shape."""

import math

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
