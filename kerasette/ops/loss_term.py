"""`self.add_loss(term)` inside a traced call(), as in Keras's guide:

    class ActivityRegularizationLayer(ks.layers.Layer):
        def call(self, inputs):
            self.add_loss(self.rate * ks.ops.mean(inputs))
            return inputs

While call() is traced, a symbolic `term` is kept by the trace (`Trace.losses`); when call()
returns, its first output goes through a `LossTermOp` that passes it on unchanged and reads the
terms beside it. At every forward the node reports each term's sum with `add_loss` (the trainer adds
it to the loss, as Keras sums an added loss), and its backward sends the sum's gradient, ones, into
each term, so the penalty trains the weights it depends on:

    y = x,  reported: sum(term_k)         dx = dy,  d term_k = 1 (every entry)

The ones are sent when the gradient of the output it rides on is (an output that reaches the
loss). In a data-parallel step each rank reports and differentiates the term on its own share.
"""

import torch

from .. import layers as _layers
from ..layers.base import Operation


class LossTermOp(Operation):
    """Inputs [x, term_1, ...]: y = x; reports sum(term_k) by add_loss; gradient 1 per entry."""

    adds_loss = True
    loss_source = True  # its backward runs even when the output it rides on gets no gradient

    def forward(self, x, training=False):
        passed, terms = x[0], x[1:]
        for term in terms:
            self.add_loss(term.sum() if term.dim() else term)

        def backward(dy):  # dy may be None: the terms still send their gradient
            return (dy, *(torch.ones_like(t) if t.is_floating_point() else None for t in terms))
        return passed, backward

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


def attach_loss_terms(outputs, terms: list):
    """`outputs` (a tensor, list, tuple or dict of the traced call) with its first tensor routed
    through a LossTermOp reading `terms`; the same structure back."""
    if not terms:
        return outputs
    if isinstance(outputs, dict):
        first = next(iter(outputs))
        return {k: LossTermOp()([v, *terms]) if k == first else v for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        routed = [LossTermOp()([outputs[0], *terms]), *outputs[1:]]
        return type(outputs)(routed)
    return LossTermOp()([outputs, *terms])


_layers.register(LossTermOp)
