"""`Input`: where a model's data comes in.

    inputs = ks.Input(shape=(2,), name="features")      # a symbolic tensor, shape (None, 2)
    model = ks.Sequential([ks.Input(shape=(2,)), ks.layers.Dense(1)])

`Input(shape)` returns the symbolic tensor (`KerasTensor`) produced by an `InputLayer`, as in Keras 3;
layers called on it record the graph of a functional model. The `InputLayer`'s forward is the identity
(y = x, dx = dy).
"""

from ..graph.symbolic import KerasTensor, Node, as_dtype, check_shape
from .base import Layer


class InputLayer(Layer):
    """The layer behind `ks.Input`: knows the per-sample input `shape` (batch dimension excluded)
    and the input `dtype`; `output` is its symbolic tensor.

    It is built at construction, so calling it on data of another per-sample shape raises.
    """

    def __init__(self, shape, name: str | None = None, dtype=None):
        shape = check_shape(shape)
        dtype = as_dtype(dtype)
        super().__init__(name=name)
        self.shape = shape
        self.dtype = dtype
        self.input_spec = shape
        self.built = True
        node = Node(self, [], several=False)
        self.output = KerasTensor((None, *shape), dtype, node, 0, self.name)
        node.outputs.append(self.output)
        self._inbound_nodes.append(node)

    def forward(self, x, training=False):
        return x, _identity

    def compute_output_shape(self, input_shape=None) -> tuple:
        batch = None if input_shape is None else input_shape[0]
        return (batch, *self.shape)

    def get_config(self) -> dict:
        config = {"shape": list(self.shape), "name": self.name}
        if self.dtype.is_floating_point is False:
            config["dtype"] = str(self.dtype).replace("torch.", "")
        return config


def Input(shape, name: str | None = None, dtype=None) -> KerasTensor:
    """A symbolic input of per-sample `shape` (batch dimension excluded), e.g. `Input((28, 28))`.

    `dtype`: "float32" (the default, kerasette's floatx) or an integer type such as "int32" for
    index inputs (Embedding), which then stay integers.
    """
    return InputLayer(shape, name=name, dtype=dtype).output


def _identity(dy):
    return dy
