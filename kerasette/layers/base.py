"""The layer protocol: `Layer` builds weights (`Weight`, weight.py), runs forward, hands back a
backward closure (arguments: layer_arguments.py; Keras masks: mask_protocol.py).

    y, backward = layer.forward(x, training)
    dx = backward(dy)          # adds dL/dW into each weight's .grad, returns dL/dx

A layer called on a list of tensors (a merge layer such as `Add`) gets the list in `forward` and in
`build` (a list of shapes); its backward returns a tuple with one dL/dx per input.

A layer whose class sets `skips_input_grad = True` accepts `backward(dy, need_dx=False)`: only its
weight gradients, returning None (the first layer that trains: a 784-512 Dense saves a matmul).

A layer whose class sets `overwrites_grads = True` accepts `backward(dy, overwrite=True)`: its weight
gradients are then *written* rather than added. The executor asks it when that call is the only
writer of those gradients in the step, so the trainer can skip zero-filling the gradient buffer.

What backward needs is captured by the closure, never stored on the layer, so the same layer can be
used twice in one graph and a `predict` in the middle of a training step cannot corrupt it.
"""


import numpy as np
import torch

from .. import config
from .. import initializers as inits
from ..graph.tracing import current_trace, defines_call, run_nested, trace_both
from ..sizes import check_allocation
from .layer_arguments import (
    _build_once,
    _check_dtype,
    _input_dim_as_shape,
    _mismatch,
    _positional_inputs,
    _snake,
)
from .mask_protocol import MaskProtocol
from .weight import Weight
from .weight_values import assign_all


class Layer(MaskProtocol):
    """Base class of every layer.

    Subclasses implement:
      - `build(input_shape)`: create weights with `add_weight` (input_shape includes the batch
        dimension as None, e.g. (None, 2)); the base records the expected per-sample shape.
      - `forward(x, training=False) -> (y, backward)`; `backward(dy) -> dx` accumulates weight grads.
      - `compute_output_shape(input_shape)` when the output shape differs from the input's.
      - `get_config()` listing constructor arguments, so a saved model can be rebuilt.
    """

    _counters: dict = {}
    skips_input_grad = False  # True: backward(dy, need_dx=False) is supported (see module doc)
    overwrites_grads = False  # True: backward(dy, overwrite=True) is supported (see module doc)
    adds_loss = False         # True: forward may call add_loss (see add_loss)
    depends_on_input = True   # False: the output ignores the input's values (no dL/dx to ask for)
    is_operation = False      # True: recorded by ks.ops or an operator, not made by the user (below)

    def __init__(self, name: str | None = None, trainable: bool = True, input_shape=None,
                 input_dim=None, dtype=None):
        """`input_shape` (per-sample, e.g. (784,)) is the older Keras way to start a Sequential
        model, kept for scripts that use it; `ks.Input(shape)` as the first entry is the clear one.
        `input_dim=n` is Keras 2's `input_shape=(n,)`. `dtype` is accepted when it names the
        float type every weight uses (`ks.config.floatx()`): kerasette keeps all of a model's
        weights in one flat buffer of one type, so a per-layer type is refused."""
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Invalid name: expected a string, received {type(name).__name__}")
        input_shape = _input_dim_as_shape(input_dim, input_shape)
        _check_dtype(dtype)
        if input_shape is not None and (not isinstance(input_shape, (tuple, list)) or not all(
                d is None or isinstance(d, int) and not isinstance(d, bool) and d > 0
                for d in input_shape)):
            raise ValueError(f"Invalid input_shape: expected a tuple of positive ints or None "
                             f"(batch dimension excluded), e.g. (2,) or (None, 28), received "
                             f"{input_shape!r}")
        self.input_shape_arg = None if input_shape is None else tuple(input_shape)
        if name is None:
            base = _snake(type(self).__name__)
            n = Layer._counters.get(base, 0)
            Layer._counters[base] = n + 1
            name = base if n == 0 else f"{base}_{n}"
        self.name = name
        self._trainable = bool(trainable)
        self._weights: list[Weight] = []
        self._losses: list = []  # add_loss values of the latest forward (see `add_loss`)
        self._inbound_nodes: list = []  # graph nodes recording calls on symbolic tensors
        self.built = False
        self.input_spec: tuple | None = None  # expected per-sample shape, set at build

    # ----- weights ---------------------------------------------------------------------------
    def add_weight(self, name=None, shape=None, initializer=None, trainable: bool = True,
                   regularizer=None, constraint=None, *, dtype=None, autocast=True,
                   aggregation="none", overwrite_with_gradient=False) -> Weight:
        """Create, initialise and register a weight of `shape` in kerasette's float type (a shape
        too large for this machine is a ValueError before anything is allocated).

        Keras 3's keywords work (`add_weight(shape=(3, 4), initializer="zeros")`, also with the
        shape first and positional); `name` defaults to "variable", "variable_1", ...; the
        initializer to "glorot_uniform". `dtype` must be floatx (one flat buffer per model);
        `autocast`, `aggregation` and `overwrite_with_gradient` are accepted for Keras scripts
        and change nothing here (no mixed precision; replicas always average by all-reduce)."""
        if shape is None and isinstance(name, (tuple, list)):  # Keras 3: add_weight((3, 4), ...)
            name, shape = None, name
        shape = () if shape is None else tuple(shape) if isinstance(shape, (tuple, list)) \
            else (shape,)
        if name is None:
            taken = {w.name.rsplit("/", 1)[-1] for w in self._weights}
            name = next(n for n in (f"variable_{k}" if k else "variable" for k in range(
                len(taken) + 1)) if n not in taken)
        if not isinstance(name, str):
            raise TypeError(f"Invalid name: expected a string, received {type(name).__name__}")
        _check_dtype(dtype)
        initializer = "glorot_uniform" if initializer is None else initializer
        check_allocation(shape, config.floatx_dtype(), f"shape of weight '{self.name}/{name}' "
                         f"(from the layer's arguments and input shape)")
        value = inits.get(initializer)(tuple(shape), config.floatx_dtype())
        w = Weight(value, f"{self.name}/{name}", trainable and self._trainable,
                   regularizer=regularizer, constraint=constraint)
        self._weights.append(w)
        return w

    def add_state(self, name: str, shape, initializer="zeros") -> Weight:
        """Create non-trainable layer state (e.g. a moving mean): listed among the layer's
        `non_trainable_weights` in creation order, as Keras lists it; updated in place
        (`state.value.mul_(...)`) by the layer's own training forward only."""
        check_allocation(shape, config.floatx_dtype(), f"shape of state '{self.name}/{name}'")
        value = inits.get(initializer)(tuple(shape), config.floatx_dtype())
        w = Weight(value, f"{self.name}/{name}", trainable=False, is_state=True)
        self._weights.append(w)
        return w

    def add_loss(self, value: torch.Tensor) -> None:
        """Add a 0-d tensor to the training loss from inside `forward` (Keras's `add_loss`). The
        value is only *reported*: the layer's backward adds the penalty's gradient to dL/dx itself,
        and its class sets `adds_loss = True` so the trainer reads (and clears) its `losses`.
        Inside a traced `call()` the value is a symbolic tensor built with ks.ops: it becomes part
        of the graph (its sum is added to the loss and trains what it depends on, see
        kerasette/ops/loss_term.py)."""
        from ..graph.symbolic import KerasTensor, is_symbolic

        if is_symbolic(value):
            trace = current_trace()
            if trace is None or not isinstance(value, KerasTensor):
                raise TypeError(f"Invalid value: '{self.name}'.add_loss takes a symbolic tensor "
                                f"only inside a call() being traced (a custom layer or model), "
                                f"received {value!r}")
            trace.losses.append(value)
            return
        self._losses.append(value)

    @property
    def loss_source(self) -> bool:
        """True when this layer's backward sends a gradient of its own even when its output gets
        none (dy None): it holds the add_loss terms of a traced call() (ops/loss_term.py), here
        or in a graph it runs."""
        graphs = self._call_graphs() or [g for g in (self.__dict__.get("_graph"),) if g]
        return any(layer.loss_source for graph in graphs for layer in graph.layers)

    @property
    def losses(self) -> list:
        """Values passed to `add_loss` during the latest forward."""
        return list(self._losses)

    @property
    def weights(self) -> list[Weight]:
        """Own weights in creation order, then those of the layers it runs (`_sublayers`: a
        traced `call`'s, a model's, a wrapper's), each once."""
        return unique_weights(self._sublayers(), self._weights)

    def _sublayers(self) -> list:
        """The layers this one runs: those of its traced call() (models and wrappers override)."""
        return [layer for g in self._call_graphs() for layer in g.layers]

    def _call_graphs(self) -> list:
        """The graphs a traced call() became: one, or two when call() takes `training` (the
        second run in training, see `graph.tracing.trace_both`); [] for other layers."""
        return [g for g in (self.__dict__.get("_call_graph"),
                            self.__dict__.get("_call_graph_training")) if g is not None]

    @property
    def trainable_weights(self) -> list[Weight]:
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Weight]:
        return [w for w in self.weights if not w.trainable]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze all weights of the layer. Recompile the model afterwards."""
        self._trainable = bool(value)
        for layer in self._sublayers():
            layer.trainable = self._trainable
        for w in self._weights:
            w.trainable = self._trainable and not w.is_state

    def rng_generators(self) -> dict:
        """The torch.Generators this layer draws from, by name (saved to resume runs exactly):
        its `ks.random.SeedGenerator` attributes, and those of the layers its traced call() runs."""
        from ..random import SeedGenerator

        gens = {name: v.generator for name, v in vars(self).items()
                if isinstance(v, SeedGenerator)}
        for g, graph in enumerate(self._call_graphs()):
            for i, layer in enumerate(graph.layers):
                for key, gen in layer.rng_generators().items():
                    if all(gen is not known for known in gens.values()):
                        gens[f"{g}/{i}/{key}"] = gen
        return gens

    def count_params(self) -> int:
        return sum(w.numel() for w in self.weights)

    def get_weights(self) -> list:
        """Weight values as NumPy arrays, in creation order (Keras's layout)."""
        return [w.value.detach().cpu().numpy().copy() for w in self.weights]

    def set_weights(self, values) -> None:
        """Set weights from arrays in `get_weights` order; all are checked before any copy."""
        assign_all(self.weights, values, f"layer '{self.name}'")

    # ----- building and calling -------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create weights for inputs of `input_shape` (batch dimension first, as None)."""

    def __init_subclass__(cls, **kwargs):
        """A subclass's `build` is wrapped to build once, also when called directly as Keras
        scripts do (`layer.build((None, 4))`, then `set_weights`); kerasette's models excepted."""
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and (not getattr(cls, "_manages_build", False)
                                  or not cls.__module__.startswith("kerasette.")):
            cls.build = _build_once(build)  # a user's Model subclass too (Model._finish_build)
        if "call" in cls.__dict__ and "forward" not in cls.__dict__ and \
                not getattr(cls, "_manages_build", False):
            # A subclass of a built-in layer (class Scaled(Dense)) whose call() redefines the
            # computation, as in Keras: its traced call() runs, not the parent's forward.
            cls.forward = Layer.forward
            if "compute_output_shape" not in cls.__dict__:
                cls.compute_output_shape = Layer.compute_output_shape
            cls.overwrites_grads = False

    def _finish_build(self, input_shape) -> None:
        """After `build`: trace a composite layer's call() and record the per-sample shape."""
        several = isinstance(input_shape, list)
        per_sample = [tuple(s[1:]) for s in input_shape] if several else tuple(input_shape[1:])
        shape = [(None, *p) for p in per_sample] if several else (None, *per_sample)
        if defines_call(self) and not self.__dict__.get("_call_traced_by"):  # (RNN cells: rnn_custom)
            self._call_graph, self._call_graph_training = trace_both(self, shape)
        self.input_spec = per_sample
        self.built = True

    def _maybe_build(self, input_shape) -> None:
        """Build on first use; afterwards check the per-sample shape of every new input.

        `input_shape` is a tuple, or a list of tuples for a layer called on several inputs."""
        several = isinstance(input_shape, list)
        per_sample = [tuple(s[1:]) for s in input_shape] if several else tuple(input_shape[1:])
        if not self.built:
            shape = [(None, *p) for p in per_sample] if several else (None, *per_sample)
            self.build(shape)  # a subclass's build finishes itself (`_build_once`)
            if not self.built:
                self._finish_build(shape)
            return
        spec = self.input_spec
        if spec is None:
            return
        if several:
            bad = not isinstance(spec, list) or len(spec) != len(per_sample) or any(
                _mismatch(e, r) for e, r in zip(spec, per_sample))
        else:
            bad = isinstance(spec, list) or _mismatch(spec, per_sample)
        if bad:
            expected = [(None, *e) for e in spec] if isinstance(spec, list) else (None, *spec)
            received = [tuple(s) for s in input_shape] if several else tuple(input_shape)
            raise ValueError(f"Layer '{self.name}' expected input of shape {expected}, received "
                             f"{received}")

    def compute_output_shape(self, input_shape) -> tuple:
        graph = self.__dict__.get("_call_graph")
        if graph is not None:  # a composite layer: the shapes its traced call() produced
            shapes = [tuple(t.shape) for t in graph.outputs]
            return shapes[0] if len(shapes) == 1 else shapes
        return tuple(input_shape)

    def forward(self, x: torch.Tensor, training: bool = False):
        """Return `(y, backward)`; subclasses override, or define `call` (traced into a graph)."""
        graph = self.__dict__.get("_call_graph")
        if graph is not None:
            trained = self.__dict__.get("_call_graph_training") if training else None
            return run_nested(trained or graph, x, training)
        raise NotImplementedError(f"{type(self).__name__} defines neither forward(x, training) -> "
                                  f"(y, backward) nor call(inputs) composed of layers")

    def __call__(self, x, *args, training: bool = False, mask=None):
        """Apply the layer (building it on first call) and return only the output.

        On symbolic tensors (from `ks.Input`) it records a graph node and returns symbolic outputs
        (the functional API). On data, as in Keras, `x` is cast to the layer's weights' dtype and
        device (a layer without weights casts integer input to floatx), so a float64 batch can be
        fed to a float32 layer. Several inputs are a list (`Add()([a, b])`) or, as Keras passes
        them on to `call(a, b)`, positional arguments (`endpoint(logits, targets)`); one bool
        after `x` is `training` (`layer(x, True)`); `mask` is Keras's explicit mask (masking.py).
        """
        from ..graph.symbolic import is_symbolic, symbolic_call
        from .masking import call_with_mask

        x, training = _positional_inputs(self, x, args, training)
        if mask is not None:
            return call_with_mask(self, x, mask, training)
        if current_trace() is not None:  # a weight given to a layer in a traced call()
            from ..ops.weight_read import lift
            x = lift(x)
        if is_symbolic(x):
            return symbolic_call(self, x)
        if isinstance(x, (list, tuple)) and x and all(isinstance(t, torch.Tensor) for t in x):
            self._maybe_build([tuple(t.shape) for t in x])
            return self.forward([self._cast(t) for t in x], training)[0]
        if isinstance(x, np.ndarray):  # as Keras: a NumPy batch is taken as a tensor
            x = torch.from_numpy(x)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Layer '{self.name}' expects a torch.Tensor or NumPy array (or a "
                            f"symbolic tensor from ks.Input), received {type(x).__name__}")
        self._maybe_build(tuple(x.shape))
        return self.forward(self._cast(x), training)[0]

    def _cast(self, x: torch.Tensor) -> torch.Tensor:
        if self._weights:
            return x.to(device=self._weights[0].value.device, dtype=self._weights[0].value.dtype)
        if not x.is_floating_point():
            return x.to(config.floatx_dtype())
        return x

    # ----- the first symbolic call (Keras's layer.input / layer.output) -----------------------
    @property
    def input(self):
        """The symbolic tensor(s) this layer read the first time it was called on symbolic tensors
        (a list for a call on several), e.g. to cut a feature extractor out of a trained graph:
        `ks.Model(model.input, model.get_layer("hidden").output)`."""
        node = self._first_call("input")
        return list(node.inputs) if node.several else node.inputs[0]

    @property
    def output(self):
        """The symbolic tensor(s) this layer produced the first time it was called on symbolic
        tensors (a list for a layer with several outputs)."""
        node = self._first_call("output")
        return list(node.outputs) if node.multi_output else node.outputs[0]

    def _first_call(self, what: str):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on symbolic tensors, "
                                 f"so it has no {what}: call it on ks.Input(...) or on another "
                                 f"layer's output first")
        return self._inbound_nodes[0]

    # ----- serialisation --------------------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self._trainable}
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Operation(Layer):
    """A node that `ks.ops` or an operator on symbolic tensors (`x + y`, `ks.ops.exp(x)`) recorded,
    rather than a layer the user made. As in Keras, a model's `layers` leaves operations out
    (a functional model's summary still shows them); `mark_operation` tags a layer instance an op
    created (`ks.ops.relu` records a ReLU)."""

    is_operation = True


def mark_operation(layer: Layer) -> Layer:
    """`layer`, tagged as an operation (saved with it, see `kerasette.layers.serialize`)."""
    layer.is_operation = True
    return layer


def unique_weights(layers, own=()) -> list:
    """`own`, then the weights of `layers` in order, each weight once (a shared layer's too)."""
    seen, out = {id(w) for w in own}, list(own)
    for layer in layers:
        for w in layer.weights:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
    return out
