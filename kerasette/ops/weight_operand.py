"""A layer's own weight as an operand of a traced op, Keras's usual way to write a custom layer:

    class Linear(ks.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 4), initializer="random_normal")
            self.b = self.add_weight(shape=(4,), initializer="zeros")
        def call(self, inputs):
            return ks.ops.matmul(inputs, self.w) + self.b

`call` is traced once on symbolic tensors. An op of `BINARY` (add, subtract, multiply, divide,
maximum, minimum, matmul; also `+ - * / @`) between a symbolic tensor and a `Weight` records a
`WeightOp` node. The weight stays a reference: its current value is read at every forward (so
the flat buffer, `to(device)` and the optimizer's updates are seen), and the backward adds dL/dw
into `weight.grad` beside returning dL/dx:

    y = op(x, w)      dx, dw = the op's gradients (BINARY), each summed back to its operand's shape

A weight may feed several ops, so its gradient is added, never overwritten (a graph with such a node
zero-fills the gradient buffer each step). Any other use of a weight while `call` is traced
(`ks.ops.exp(self.w)`, `ks.ops.transpose(self.w)`) would read its value once, as a constant that
never trains: `convert_to_tensor` refuses it with a TypeError (kerasette/ops/core.py).
"""

from .. import layers as _layers
from ..layers.base import Layer
from .elementwise_layers import BINARY, auto_name, binary_shape, unbroadcast


class WeightOp(Layer):
    """`op(x, weight)`, or `op(weight, x)` with `weight_first=True`, inside a traced call()."""

    skips_input_grad = True  # backward(dy, need_dx=False) when nobody needs dL/dx

    def __init__(self, op: str, weight, weight_first: bool = False, **kwargs):
        if op not in BINARY:
            raise ValueError(f"Invalid op: expected one of {sorted(BINARY)}, received {op!r}")
        kwargs.setdefault("name", auto_name(op))
        super().__init__(**kwargs)
        self.op, self.weight, self.weight_first = op, weight, bool(weight_first)
        self._weights = [weight]  # a reference: the layer whose call() reads it owns it

    def forward(self, x, training=False):
        w = self.weight
        value = w.value
        a, b = (value, x) if self.weight_first else (x, value)
        y, grads = BINARY[self.op](a, b)

        def backward(dy, need_dx=True):
            da, db = grads(dy)
            dw, dx = (da, db) if self.weight_first else (db, da)
            if w.trainable:
                w.grad.add_(unbroadcast(dw, value.shape))
            return unbroadcast(dx, x.shape) if need_dx else None
        return y, backward

    def compute_output_shape(self, input_shape):
        a, b = tuple(input_shape), tuple(self.weight.shape)
        return binary_shape(self.op, *((b, a) if self.weight_first else (a, b)))

    def get_config(self) -> dict:
        raise TypeError(f"'{self.name}' reads the weight '{self.weight.name}' inside a traced "
                        f"call(); it is saved with the layer that owns that weight, not on its own")


_layers.register(WeightOp)
