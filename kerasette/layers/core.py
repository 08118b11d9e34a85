"""`Input`: where a model's data comes in.

    inputs = ks.Input(shape=(2,), name="features")      # a symbolic tensor, shape (None, 2)
    model = ks.Sequential([ks.Input(shape=(2,)), ks.layers.Dense(1)])

`Input(shape)` returns the symbolic tensor (`KerasTensor`) produced by an `InputLayer`, as in Keras 3;
layers called on it record the graph of a functional model. The `InputLayer`'s forward is the identity
(y = x, dx = dy).
"""

import numbers

from ..graph.symbolic import KerasTensor, Node, as_dtype, check_shape
from .base import Layer


class InputLayer(Layer):
    """The layer behind `ks.Input`: knows the per-sample input `shape` (batch dimension excluded)
    and the input `dtype`; `output` is its symbolic tensor.

    It is built at construction, so calling it on data of another per-sample shape raises.
    Keras's other spellings are accepted: `batch_shape=(None, *shape)` (or `(n, *shape)`: a
    batch size n, recorded as `batch_size` but not enforced), and Keras 2's `input_shape=` /
    `batch_input_shape=`.
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 **kwargs):
        shape, batch_size = _resolve_shape(shape, batch_size, batch_shape, kwargs)
        dtype = as_dtype(dtype)
        super().__init__(name=name)
        self.shape = shape
        self.batch_size = batch_size
        self.dtype = dtype
        self.input_spec = shape
        self.built = True
        node = Node(self, [], several=False)
        node.outputs.append(KerasTensor((None, *shape), dtype, node, 0, self.name))
        self._inbound_nodes.append(node)  # `output` (Layer's property) is this tensor

    @property
    def input(self):
        """An input layer reads nothing: as in Keras, its input is its output tensor."""
        return self.output

    def forward(self, x, training=False):
        return x, _identity

    def compute_output_shape(self, input_shape=None) -> tuple:
        batch = None if input_shape is None else input_shape[0]
        return (batch, *self.shape)

    def get_config(self) -> dict:
        config = {"shape": list(self.shape), "name": self.name}
        if self.dtype.is_floating_point is False:
            config["dtype"] = str(self.dtype).replace("torch.", "")
        if self.batch_size is not None:
            config["batch_size"] = self.batch_size
        return config


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
          **kwargs) -> KerasTensor:
    """A symbolic input of per-sample `shape` (batch dimension excluded), e.g. `Input((28, 28))`,
    or of `batch_shape` (batch dimension first, e.g. (None, 28, 28)).

    `dtype`: "float32" (the default, kerasette's floatx) or an integer type such as "int32" for
    index inputs (Embedding), which then stay integers.
    """
    return InputLayer(shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                      name=name, **kwargs).output


def _resolve_shape(shape, batch_size, batch_shape, kwargs) -> tuple:
    """(per-sample shape, batch size or None) from Keras's and Keras 2's spellings."""
    for old, new in (("input_shape", "shape"), ("batch_input_shape", "batch_shape")):
        if old in kwargs:
            if (shape if new == "shape" else batch_shape) is not None:
                raise ValueError(f"Invalid {old}: it is Keras 2's spelling of {new}; give one "
                                 f"of them, received both")
            value = kwargs.pop(old)
            shape, batch_shape = (value, batch_shape) if new == "shape" else (shape, value)
    for key in ("sparse", "ragged", "tensor", "input_tensor", "optional"):
        if kwargs.get(key) in (None, False):
            kwargs.pop(key, None)
    if kwargs:
        raise TypeError(f"Invalid argument(s) for Input: {sorted(kwargs)}; expected shape, "
                        f"batch_size, dtype, batch_shape, name (or Keras 2's input_shape, "
                        f"batch_input_shape)")
    if batch_shape is not None:
        if shape is not None:
            raise ValueError(f"Invalid shape: give shape or batch_shape, not both (received "
                             f"shape={shape!r}, batch_shape={batch_shape!r})")
        if not isinstance(batch_shape, (tuple, list)) or len(batch_shape) < 2:
            raise ValueError(f"Invalid batch_shape: expected (batch size or None, *shape), e.g. "
                             f"(None, 28, 28), received {batch_shape!r}")
        if batch_size is not None:
            raise ValueError(f"Invalid batch_size: give batch_size or batch_shape, not both "
                             f"(received {batch_size!r} and {batch_shape!r})")
        batch_size, shape = batch_shape[0], tuple(batch_shape[1:])
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
            batch_size, numbers.Integral) or batch_size < 1):
        raise ValueError(f"Invalid batch_size: expected a positive int or None, received "
                         f"{batch_size!r}")
    return check_shape(shape), None if batch_size is None else int(batch_size)


def _identity(dy):
    return dy
