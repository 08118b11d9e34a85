"""A layer's own weights inside its traced call(), Keras's usual way to write a custom layer:

    class TiedDecoder(ks.layers.Layer):
        def __init__(self, encoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
        def build(self, input_shape):
            self.b = self.add_weight(shape=(self.encoder.kernel.shape[0],), initializer="zeros")
        def call(self, h):
            return ks.ops.matmul(h, ks.ops.transpose(self.encoder.kernel)) + self.b

`call` is traced once on symbolic tensors. While it is, a `Weight` given to an op (any op of
`ks.ops` that builds graph nodes, the operators `+ - * / @ ** -w w[...]`, or a layer) is first
turned into a symbolic tensor by a `WeightRead` node. So every op that works on symbolic tensors
works on weights, with its own backward, and the weight trains:

    forward:  y = w (its current value: the flat buffer, `to(device)` and the optimizer's
              updates are seen at every step)
    backward: w.grad += dL/dy           (nothing flows to the node's input, which only places it)

A weight read several times in one call is one node whose output feeds several ops: the executor
sums the gradients of its uses, as for any tensor read twice. Its gradient is added, never
overwritten, because the weight's own layer may write it too (tied weights): a graph with such a
node zero-fills the gradient buffer each step (`Graph._plan_overwrites`).

The node hangs from the traced call's first input (`Trace.anchor`), so the graph stays a graph of
the model's inputs; its output has the weight's shape, without a batch axis, and broadcasts as in
NumPy. In a functional model built outside any call() (`ks.ops.matmul(h, dense.kernel)`), a binary
op between a symbolic tensor and a weight reads the weight the same way, hung from that tensor.
"""

from .. import layers as _layers
from ..graph.symbolic import KerasTensor
from ..graph.tracing import current_trace
from ..layers.base import Operation, Weight
from .elementwise_layers import auto_name


class WeightRead(Operation):
    """y = weight.value, whatever the input; backward adds dL/dy into weight.grad."""

    skips_input_grad = True  # backward(dy, need_dx=False): the only call it ever gets
    depends_on_input = False  # the executor never asks it for dL/dx

    def __init__(self, weight: Weight, **kwargs):
        if not isinstance(weight, Weight):
            raise TypeError(f"Invalid weight: expected a Weight, received {type(weight).__name__}")
        kwargs.setdefault("name", auto_name("read_" + weight.name.rsplit("/", 1)[-1]))
        super().__init__(**kwargs)
        self.weight = weight
        self._weights = [weight]  # a reference: the layer that created it owns it

    def forward(self, x, training=False):
        w = self.weight

        def backward(dy, need_dx=False):
            if w.trainable:
                w.grad.add_(dy)
        return w.value, backward

    def compute_output_shape(self, input_shape):
        return self.weight.shape

    def count_params(self) -> int:
        """0: the weight is counted once, by the layer that owns it (summary's Param #)."""
        return 0

    def get_config(self) -> dict:
        raise TypeError(f"'{self.name}' reads the weight '{self.weight.name}' inside a traced "
                        f"call(); it is saved with the layer that owns that weight, not on its own")


def weight_tensor(weight: Weight, anchor: KerasTensor | None = None):
    """The symbolic tensor of `weight`: in a traced call() one `WeightRead` per weight, hung from
    the call's first input; otherwise a new one hung from `anchor`, or the weight itself (data)
    when there is no anchor."""
    trace = current_trace()
    if trace is not None:
        read = trace.reads.get(id(weight))
        if read is None:
            read = trace.reads[id(weight)] = WeightRead(weight)(trace.anchor)
        return read
    return weight if anchor is None else WeightRead(weight)(anchor)


def lift(x, anchor: KerasTensor | None = None):
    """`x` with each `Weight` (also inside a list or tuple) replaced by `weight_tensor`."""
    if isinstance(x, Weight):
        return weight_tensor(x, anchor)
    if isinstance(x, (list, tuple)) and any(isinstance(e, Weight) for e in x):
        return type(x)(lift(e, anchor) for e in x)
    return x


def is_traced_weight(x) -> bool:
    """True for a Weight (or a list / tuple holding one) while a call() is being traced: an
    operand that ops must treat as symbolic."""
    if current_trace() is None:
        return False
    return isinstance(x, Weight) or isinstance(x, (list, tuple)) and any(
        isinstance(e, Weight) for e in x)


_layers.register(WeightRead)
