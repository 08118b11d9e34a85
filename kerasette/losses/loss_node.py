"""A loss object called on symbolic tensors, e.g. inside a traced call() (Keras's endpoint layer):

    class LogisticEndpoint(ks.layers.Layer):
        def call(self, targets, logits):
            self.add_loss(self.loss_fn(targets, logits))   # loss_fn = BinaryCrossentropy(...)
            return ks.ops.softmax(logits)

`loss(y_true, y_pred)` on symbolic tensors records a `LossNode`: a 0-d output, the loss value,
whose backward is the loss's own hand-written gradient scaled by the incoming one; the targets get
none (they are data, even when they enter the graph as an input):

    y = L(y_true, y_pred)          d y_pred = dy * dL/dy_pred          d y_true: none
"""

from .. import layers as _layers
from ..layers.base import Operation


class LossNode(Operation):
    """Inputs [y_true, y_pred]: the loss value (0-d) of `loss`, a Loss with a trainable
    reduction."""

    def __init__(self, loss, **kwargs):
        from ..ops.elementwise_layers import auto_name

        loss._check_trainable_reduction()
        kwargs.setdefault("name", auto_name(loss.name))
        super().__init__(**kwargs)
        self.loss = loss

    def forward(self, x, training=False):
        y_true, y_pred = x
        value, grad = self.loss.forward(y_true, y_pred)

        def backward(dy):
            return None, grad() * dy
        return value, backward

    def compute_output_shape(self, input_shape):
        return ()

    def get_config(self) -> dict:
        from . import serialize

        return {**super().get_config(), "loss": serialize(self.loss)}

    @classmethod
    def from_config(cls, config: dict):
        from . import deserialize

        config = dict(config)
        return cls(deserialize(config.pop("loss")), **config)


def check_targets(loss_name: str, y_true) -> None:
    """TypeError when the symbolic `y_true` is computed by layers with weights: the losses'
    backward gives dL/dy_pred only, so those weights would silently get no gradient. Where y_true
    comes from an input of the call() being traced, the check is left to the caller of that layer
    (`Trace.targets`, checked again by `symbolic_call` on the tensors it is called on)."""
    from ..graph.tracing import current_trace

    trace = current_trace()
    seen, stack = set(), [y_true]
    while stack:
        t = stack.pop()
        if trace is not None and any(t is i for i in trace.inputs):
            trace.targets[next(k for k, i in enumerate(trace.inputs) if t is i)] = loss_name
            continue
        node = getattr(t, "node", None)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.layer.weights:
            raise TypeError(f"Invalid y_true: loss '{loss_name}' got targets computed by layer "
                            f"'{node.layer.name}', which has weights; a loss sends its gradient "
                            f"to y_pred only, so call it as loss(targets, predictions)")
        stack.extend(node.inputs)


_layers.register(LossNode)
