"""Subclassed models and composite layers: `call()` traced once into a graph.

    class Block(ks.layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.dense1 = ks.layers.Dense(units, activation="relu")
            self.dense2 = ks.layers.Dense(units)
        def call(self, inputs, training=False):
            return inputs + self.dense2(self.dense1(inputs))     # a residual block

The first time such a layer (or `ks.Model` subclass) sees an input shape, `call` runs once on symbolic
inputs of that shape; the layers it calls record nodes, and the result is a `Graph` run by the same
executor as every other model. The rule that follows: `call` may not branch on data values (it runs
once, on symbolic tensors); layers still get the real `training` flag at run time (Dropout drops only
in training). A composite layer whose `call` takes `training` is traced twice, with False and True,
and runs the matching graph (`trace_both`), so an `if training:` in it holds; a subclassed model's
`call` gets `TracedTraining`, which refuses a branch with a TypeError.

`run_nested` is how a graph runs inside another one (a model used as a layer, a composite layer):
forward through the inner graph, and a backward that computes dL/d(inputs) only when the outer graph
needs it.
"""

from .executor import Graph
from .symbolic import KerasTensor, is_symbolic


class Trace:
    """One call() being traced: its owner, the symbolic input that weight reads hang from
    (`anchor`), the weights read so far (`reads`: id -> symbolic tensor, one node per weight, see
    kerasette/ops/weight_read.py) and the symbolic terms given to add_loss (`losses`, see
    kerasette/ops/loss_term.py)."""

    __slots__ = ("owner", "inputs", "anchor", "reads", "losses", "targets")

    def __init__(self, owner, inputs):
        self.owner, self.inputs, self.anchor = owner, inputs, inputs[0]
        self.reads, self.losses = {}, []
        self.targets = {}  # input position -> name of a loss that takes it as y_true


_TRACING: list = []  # the traces in progress (innermost last)


def tracing():
    """The layer whose call() is being traced now, or None."""
    return _TRACING[-1].owner if _TRACING else None


def current_trace():
    """The innermost `Trace` in progress, or None."""
    return _TRACING[-1] if _TRACING else None


def defines_call(obj) -> bool:
    """True when the object's class (not kerasette's base classes) defines `call`."""
    call = getattr(type(obj), "call", None)
    return call is not None and not getattr(call, "_kerasette_base", False)


class TracedTraining:
    """The `training` a subclassed model's call() is traced with: the real flag only exists when
    the model runs, so a branch on it (`if training:`) is a TypeError instead of silently tracing
    one branch. Passing it on to layers (`self.dropout(x, training=training)`) is fine."""

    def __bool__(self):
        raise TypeError("A model's call() may not branch on `training` (it is traced once, on "
                        "symbolic tensors): pass it on to layers, which get the real flag when "
                        "they run (Dropout, BatchNormalization, or a custom layer with an "
                        "`if training:` of its own, which is traced for both values)")

    def __repr__(self):
        return "<training: known when the model runs>"


def accepts_training(call) -> bool:
    """True when `call` has a `training` parameter (or takes **kwargs)."""
    import inspect

    params = inspect.signature(call).parameters.values()
    return any(p.name == "training" or p.kind is p.VAR_KEYWORD for p in params)


def trace_both(owner, input_shape) -> tuple:
    """`(graph, training_graph)` of a composite layer's call(): traced with training=False, and
    again with training=True when call() takes `training` (so an `if training:` in it holds at
    run time); training_graph is None otherwise."""
    if not accepts_training(owner.call):
        return trace_call(owner, input_shape)[0], None
    inference = trace_call(owner, input_shape, training=False)[0]
    targets = dict(owner._target_inputs)
    training = trace_call(owner, input_shape, training=True)[0]
    owner._target_inputs = {**targets, **owner._target_inputs}
    return inference, training


def trace_call(owner, input_shape, training=None):
    """Graph of `owner.call` on symbolic inputs of `input_shape` (a tuple, or a list of tuples);
    `training`, when given, is passed to call()."""
    from ..layers.core import InputLayer

    several = isinstance(input_shape, list)
    shapes = input_shape if several else [input_shape]
    inputs = [InputLayer(tuple(s[1:]), name=f"{owner.name}_input" + (f"_{i}" if several else ""))
              .output for i, s in enumerate(shapes)]
    trace = Trace(owner, inputs)
    _TRACING.append(trace)
    try:
        kwargs = {} if training is None else {"training": training}
        outputs = owner.call(*inputs, **kwargs) if several and _takes_positional(
            owner.call, len(inputs)) else owner.call(inputs if several else inputs[0], **kwargs)
        if trace.losses and _is_structure_of_tensors(outputs):
            from ..ops.loss_term import attach_loss_terms

            outputs = attach_loss_terms(outputs, trace.losses)
    except TypeError as e:
        if "symbolic tensor" in str(e):
            raise
        raise TypeError(f"'{owner.name}'.call() could not be traced on symbolic inputs of shape "
                        f"{input_shape}: {e}. call() runs once on symbolic tensors (ks.Input), so "
                        f"it may only call layers (and ks.ops) on them, not branch on values") from e
    finally:
        _TRACING.pop()
    owner._target_inputs = trace.targets  # checked where the layer is called (symbolic_call)
    if not _is_structure_of_tensors(outputs):
        raise TypeError(f"'{owner.name}'.call() must return the symbolic outputs of layers called on "
                        f"its inputs (a tensor, list or dict), received {outputs!r}")
    flat = list(outputs.values()) if isinstance(outputs, dict) else \
        list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    return Graph(inputs, flat), outputs


def trace_function(owner, shapes: list, invoke):
    """Graph of `invoke(*symbolic inputs)` (a list of symbolic outputs), traced as `owner`'s call:
    for a call with a signature of its own, such as an RNN cell's `call(inputs, states)`."""
    from ..layers.core import InputLayer

    inputs = [InputLayer(tuple(s[1:]), name=f"{owner.name}_input_{i}").output
              for i, s in enumerate(shapes)]
    trace = Trace(owner, inputs)
    _TRACING.append(trace)
    try:
        outputs = invoke(*inputs)
    finally:
        _TRACING.pop()
    if trace.losses:
        raise TypeError(f"'{owner.name}'.call() may not call add_loss here")
    if not _is_structure_of_tensors(outputs):
        raise TypeError(f"'{owner.name}'.call() must return symbolic tensors computed from its "
                        f"inputs by layers and ks.ops, received {outputs!r}")
    return Graph(inputs, list(outputs))


def _takes_positional(call, n: int) -> bool:
    """True when `call` takes n inputs as n positional parameters (call(self, targets, logits)),
    not one list: it has at least two without a default, and room for n (`training` and `mask`
    do not count)."""
    import inspect

    params = [p for p in inspect.signature(call).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
              and p.name not in ("training", "mask")]
    required = sum(p.default is p.empty for p in params)
    return required >= 2 and required <= n <= len(params)


def _is_structure_of_tensors(outputs) -> bool:
    flat = list(outputs.values()) if isinstance(outputs, dict) else \
        list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    return bool(flat) and all(isinstance(t, KerasTensor) for t in flat)


def run_nested(graph: Graph, x, training: bool, mask=None, with_masks: bool = False):
    """Forward of a graph used as a layer: `(y, backward)` in the layer protocol (with
    `with_masks`: `(y, backward, output mask)`, the mask protocol's `forward_masked`, given the
    inputs' `mask`).

    `x` is a tensor or a list (several inputs); y is a tensor or a list (several outputs).
    `backward(dy, need_dx=True)` takes a tensor or a list (None for outputs the loss does not see).
    """
    several_in = isinstance(x, (list, tuple))
    xs = list(x) if several_in else [x]
    steps = graph.plan()
    if with_masks:
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * len(xs)
        outs, backward_all, out_masks = graph.forward_masked(xs, training, steps, masks)
    else:
        outs, backward_all = graph.forward(xs, training, steps)
    several_out = len(outs) > 1

    def backward(dy, need_dx=True):
        dys = list(dy) if several_out else [dy]
        dxs = backward_all(dys, graph.plan(input_grads=need_dx))
        if not need_dx:
            return None
        return tuple(dxs) if several_in else dxs[0]

    if with_masks:
        return (outs if several_out else outs[0]), backward, \
            (out_masks if several_out else out_masks[0])
    return (outs if several_out else outs[0]), backward


__all__ = ["defines_call", "trace_call", "trace_function", "trace_both", "accepts_training", "TracedTraining",
           "run_nested", "is_symbolic", "tracing", "current_trace"]
