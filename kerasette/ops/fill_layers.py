"""Source nodes of a traced call(): batch-sized `ks.ops.zeros` / `ones` / `full`, and the random
draws of `ks.random` (RandomOp, DropoutOp; the seeds and the math are in kerasette/random.py).

`ks.ops.zeros((batch, units))` inside a traced call(), where the batch size is known only when
the model runs: a hand-written RNN's zero initial state, as in Keras's guide

    def call(self, inputs):
        state = ks.ops.zeros((ks.ops.shape(inputs)[0], self.units))    # (None, units)
        for t in range(inputs.shape[1]):
            state = self.cell(inputs[:, t, :]) + self.recurrent(state)
        return state

A shape whose first size is None (the batch axis: `ks.ops.shape(x)[0]` or `x.shape[0]` of a
symbolic tensor) records a `FillOp` node. It hangs from the traced call's first input and takes
that input's batch size at every forward; its values depend on nothing, so no gradient flows
through it:

    y = full((x.shape[0], *shape), value)       dx: none (the executor never asks)
"""

import torch

from .. import layers as _layers
from ..graph.tracing import current_trace
from ..layers.base import Operation
from .core import standardize_dtype
from .elementwise_layers import auto_name


class FillOp(Operation):
    """y = full((batch of x, *shape), value) in `dtype`."""

    depends_on_input = False
    skips_input_grad = True

    def __init__(self, shape, value, dtype, **kwargs):
        kwargs.setdefault("name", auto_name("zeros" if value == 0 else "ones" if value == 1
                                            else "full"))
        super().__init__(**kwargs)
        self.shape, self.value = tuple(int(d) for d in shape), value
        self.dtype = standardize_dtype(dtype)

    def forward(self, x, training=False):
        y = torch.full((x.shape[0], *self.shape), self.value, dtype=self.dtype, device=x.device)
        return y, _no_gradient

    def compute_output_shape(self, input_shape):
        return (None, *self.shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "shape": list(self.shape), "value": self.value,
                "dtype": str(self.dtype).replace("torch.", "")}


def _no_gradient(dy, need_dx=False):
    return None  # never asked for: the executor sees that y ignores x and holds no weights


def batch_sized(shape) -> bool:
    """True for a shape whose first size is None (the batch axis) and the rest sizes, inside a
    traced call(); a None anywhere else is a ValueError."""
    if not isinstance(shape, (tuple, list)) or not shape or shape[0] is not None:
        return False
    if current_trace() is None:
        raise ValueError(f"Invalid shape: {tuple(shape)} has an unknown (None) batch size, which "
                         f"only a model's call() traced on symbolic inputs can take")
    if any(d is None for d in shape[1:]):
        raise ValueError(f"Invalid shape: only the first (batch) size may be None, received "
                         f"{tuple(shape)}")
    return True


def fill(shape, value, dtype):
    """The FillOp node of `shape` (batch first, None) hung from the traced call's first input."""
    return FillOp(shape[1:], value, dtype)(current_trace().anchor)


_layers.register(FillOp)


# ----- random draws inside a traced call() (kerasette/random.py) ------------------------------------
class RandomOp(Operation):
    """y = fresh draws of `kind` (normal, uniform, truncated_normal) at every run, of shape
    (batch of x, *shape) when `batch_sized`, else `shape`; a source: no gradient flows into it."""

    depends_on_input = False
    skips_input_grad = True

    def __init__(self, kind, shape, params, dtype, seed=None, batch_sized=True, **kwargs):
        kwargs.setdefault("name", auto_name(kind))
        super().__init__(**kwargs)
        self.kind, self.shape, self.params = kind, tuple(int(d) for d in shape), dict(params)
        self.dtype, self.seed, self.batch_sized = standardize_dtype(dtype), seed, bool(batch_sized)

    def forward(self, x, training=False):
        from ..random import _draw, _generator

        shape = (x.shape[0], *self.shape) if self.batch_sized else self.shape
        y = _draw(self.kind, shape, self.params, self.dtype, _generator(self.seed))
        return y.to(x.device), _no_gradient

    def compute_output_shape(self, input_shape):
        return (None, *self.shape) if self.batch_sized else self.shape

    def rng_generators(self) -> dict:
        from ..random import SeedGenerator

        return {"seed": self.seed.generator} if isinstance(self.seed, SeedGenerator) else {}


class DropoutOp(Operation):
    """ks.random.dropout(x, rate) in a traced call(): a new mask at every run (kerasette/random.py
    has the math); the caller decides when it applies."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        kwargs.setdefault("name", auto_name("dropout_op"))
        super().__init__(**kwargs)
        self.rate, self.seed = float(rate), seed
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def forward(self, x, training=False):
        from ..random import _generator, dropout_forward

        return dropout_forward(x, self.rate, self.noise_shape, _generator(self.seed))

    def rng_generators(self) -> dict:
        from ..random import SeedGenerator

        return {"seed": self.seed.generator} if isinstance(self.seed, SeedGenerator) else {}


def random_node(kind, shape, params, dtype, seed):
    """The RandomOp for `ks.random.<kind>(shape, ...)` in a traced call(), hung from its first
    input; `shape` may start with None (the batch)."""
    if not isinstance(shape, (tuple, list)):
        shape = (shape,)
    batch_sized = bool(shape) and shape[0] is None
    rest = tuple(shape[1:]) if batch_sized else tuple(shape)
    if any(d is None or isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in rest):
        raise ValueError(f"Invalid shape: expected ints >= 0, the first (batch) size may be None, "
                         f"received {tuple(shape)}")
    return RandomOp(kind, rest, params, dtype, seed, batch_sized)(current_trace().anchor)


for _cls in (RandomOp, DropoutOp):
    _layers.register(_cls)
