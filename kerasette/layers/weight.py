"""`Weight`: a value and the gradient that accumulates into it (see `Weight`'s docstring); the layer
protocol around it is in base.py."""

import torch

from .weight_operators import WeightOperators
from .weight_values import delta_tensor, weight_tensor


class Weight(WeightOperators):
    """A trainable (or frozen) tensor and the gradient that accumulates into it.

    `value` and `grad` may be views into a model's flat parameter / gradient buffers (see
    `kerasette.flat`); always update them in place (`assign`, `grad.add_`) so the views stay valid.
    A weight with `trainable=False` is never changed by an optimizer (the seeds' transfer-learning flag).
    Arithmetic on it works as on a Keras variable (`weight_operators.py`).

    `is_state` marks layer *state* (BatchNormalization's moving statistics): never trainable, whatever
    the layer's `trainable` flag, changed only by its layer's training forward, saved with the weights.
    `regularizer` (penalty added to the loss, see `kerasette.regularizers`) and `constraint` (applied
    to the value after each optimizer step) are the trainer's business; layers only attach them.
    """

    __slots__ = ("value", "grad", "name", "trainable", "is_state", "regularizer", "constraint",
                 "_buffer")

    def __init__(self, value: torch.Tensor, name: str, trainable: bool = True,
                 is_state: bool = False, regularizer=None, constraint=None):
        self.value = value
        self.grad = torch.zeros_like(value)
        self.name = name
        self.is_state = bool(is_state)
        self.trainable = bool(trainable) and not self.is_state
        self.regularizer = regularizer
        self.constraint = constraint
        self._buffer = None  # the FlatBuffer this weight lives in, if any

    @property
    def shape(self) -> tuple:
        return tuple(self.value.shape)

    def numel(self) -> int:
        return self.value.numel()

    def numpy(self):
        """A NumPy copy of the value (Keras's `variable.numpy()`)."""
        return self.value.detach().cpu().numpy().copy()

    def assign(self, new_value) -> None:
        """Copy `new_value` into the weight in place after checking it (see `weight_values`:
        real, finite, this weight's shape, representable in its dtype); nothing changes otherwise."""
        self.value.copy_(weight_tensor(new_value, self, "value"))

    def assign_add(self, delta) -> None:
        """`value + delta`, assigned as by `assign` (Keras's variable API)."""
        self.assign(self.value + delta_tensor(delta, self))

    def assign_sub(self, delta) -> None:
        """`value - delta`, assigned as by `assign`."""
        self.assign(self.value - delta_tensor(delta, self))

    def __repr__(self):
        frozen = "" if self.trainable else ", trainable=False"
        return f"<Weight {self.name} shape={self.shape} dtype={self.value.dtype}{frozen}>"
