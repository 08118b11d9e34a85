"""`Embedding`: integer indices to rows of a learned table (Keras 3.16's arguments and layout).

Shapes: indices i (N, ...) -> y (N, ..., output_dim); embeddings W (input_dim, output_dim).

    forward                          backward (given dy = dL/dy)
    y[p] = W[i_p]  (a row lookup)    dW[r] += sum of dy[p] over positions p with i_p = r
                                     (a scatter-add, `norm_kernels.embedding_backward_`)
                                     dL/di does not exist: the indices are not differentiable

The model feeds the first layer float tensors today, and `Layer.__call__` casts inputs to the
weights' dtype, so indices may arrive as floats holding whole numbers (3.0); they are converted to
int64 here. Non-integer values, negative indices and indices >= input_dim are a ValueError naming
the input.

`mask_zero=True` makes index 0 padding, as in Keras: the layer gives the mask `i != 0`
(kerasette/layers/mask_protocol.py), so the recurrent layers after it skip padded steps,
GlobalAveragePooling1D averages the real ones and the loss ignores them. Row 0 is still looked up
(its gradient only comes from positions the mask keeps out of everything downstream); reserve it
for padding (input_dim = vocabulary size + 1) as Keras asks.
"""

import numbers
import warnings

import torch

from .. import constraints, norm_kernels, regularizers
from .. import initializers as inits
from .base import Layer


class Embedding(Layer):
    """Map each integer index in [0, input_dim) to a trainable vector of size output_dim.

    Args:
        input_dim: vocabulary size (largest index + 1), a positive int.
        output_dim: size of each vector, a positive int.
        embeddings_initializer: default "uniform", Keras's RandomUniform(-0.05, 0.05).
        embeddings_regularizer, embeddings_constraint: see `kerasette.regularizers` / `constraints`.
        mask_zero: recorded only (see the module docstring).
        **kwargs: name, trainable, input_shape (see `Layer`); Keras 2's `input_length` is accepted
            with a warning and ignored, as Keras 3 does.
    """

    skips_input_grad = True  # nothing upstream of a lookup has a gradient

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 **kwargs):
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"Invalid {name}: expected a positive int, received {value!r}")
        if not isinstance(mask_zero, bool):
            raise TypeError(f"Invalid mask_zero: expected a bool, received {mask_zero!r}")
        init = inits.get(embeddings_initializer)
        reg = regularizers.get(embeddings_regularizer)
        con = constraints.get(embeddings_constraint)
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Embedding's input_length argument is deprecated (as in Keras 3) and "
                          "ignored; remove it", stacklevel=2)
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = init
        self.embeddings_regularizer, self.embeddings_constraint = reg, con
        self.mask_zero = mask_zero
        self.embeddings = None

    def build(self, input_shape) -> None:
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def __call__(self, x, training=False):
        """As `Layer.__call__`, but integer indices stay integers (no cast to the weights' dtype)."""
        if isinstance(x, torch.Tensor) and not x.is_floating_point():
            self._maybe_build(tuple(x.shape))
            if self.embeddings is not None:
                x = x.to(self.embeddings.value.device)
            return self.forward(x, training)[0]
        return super().__call__(x, training=training)

    def forward(self, x, training=False):
        indices = self._indices(x).reshape(-1)
        E = self.embeddings
        y = E.value.index_select(0, indices).view(*x.shape, self.output_dim)

        def backward(dy, need_dx=True):
            if E.trainable:
                norm_kernels.embedding_backward_(E.grad, dy.reshape(-1, self.output_dim), indices)
            # the lookup is piecewise constant in its input: a zero gradient, if one is asked for
            return torch.zeros_like(x) if need_dx else None
        return y, backward

    def _indices(self, x) -> torch.Tensor:
        """x as int64 indices, or a ValueError naming the input (checked before any lookup)."""
        if x.is_floating_point():
            if not torch.isfinite(x).all() or (x != torch.round(x)).any():
                bad = x[~torch.isfinite(x) | (x != torch.round(x))][0].item()
                raise ValueError(f"Invalid input to Embedding '{self.name}': expected integer "
                                 f"indices, received a value {bad!r}")
        elif x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"Invalid input to Embedding '{self.name}': expected integer "
                            f"indices, received dtype {x.dtype}")
        if x.numel() and (x.min() < 0 or x.max() >= self.input_dim):
            bad = x[(x < 0) | (x >= self.input_dim)][0].item()
            raise ValueError(f"Invalid input to Embedding '{self.name}': expected indices in "
                             f"[0, {self.input_dim}) (input_dim={self.input_dim}), received "
                             f"{bad!r}")
        return x.to(torch.int64)

    @property
    def makes_mask(self) -> bool:
        return self.mask_zero

    def compute_mask(self, x, mask=None):
        """Keras's mask: `x != 0` when mask_zero (index 0 is padding), else None."""
        return (x != 0) if self.mask_zero else None

    def compute_output_shape(self, input_shape) -> tuple:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": inits.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}
