"""`Model`: a graph of layers with Keras's training API.

Three ways to make one, all run by the same executor (`kerasette.graph`):

    inputs = ks.Input((8,))                                   # functional
    model = ks.Model(inputs, ks.layers.Dense(1)(ks.layers.Dense(16, activation="relu")(inputs)))

    class MLP(ks.Model):                                      # subclassed: call() traced once
        def __init__(self):
            super().__init__()
            self.hidden, self.out = ks.layers.Dense(16, activation="relu"), ks.layers.Dense(1)
        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs))

    model = ks.Sequential([ks.Input((8,)), ...])              # a chain (see sequential.py)

A model is also a layer: it can be called on symbolic tensors inside another model, or listed in a
Sequential; the weights are the inner model's own. This file holds the graph side (inputs, outputs,
layers, weights, devices, saving); compile / fit / evaluate / predict come from
`kerasette.training.Trainer`.
"""

import numbers

import torch

from ..flat import pack
from ..graph import Graph, is_symbolic
from ..graph.tracing import (
    TracedTraining,
    accepts_training,
    defines_call,
    run_nested,
    trace_call,
)
from ..layers.base import Layer, _positional_inputs, _snake
from ..layers.weight_values import assign_all
from ..random_state import make_generator
from ..training import NotCompiledError, Trainer
from .graph_io import _differs, _flatten_io, _producer_name, _unique_names


class Model(Trainer, Layer):
    """`ks.Model(inputs, outputs, name=None)`; subclass it and define `call` for a subclassed model.

    `inputs` / `outputs`: a symbolic tensor, a list or a dict of them (dict keys name the outputs
    in losses, metrics and logs; otherwise outputs are named after the layers producing them).
    """

    _manages_build = True  # Model.build traces call(); a user's build is wrapped below

    def __init__(self, inputs=None, outputs=None, name: str | None = None,
                 trainable: bool = True, **kwargs):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Invalid name: expected a string, received {type(name).__name__}")
        if name is None and type(self).__name__ == "Sequential":
            name = "sequential"  # kerasette's default before graphs, kept
        elif name is None:  # Keras's names: functional, functional_1, ...; my_model for MyModel
            base = "functional" if inputs is not None else _snake(type(self).__name__)
            n = Layer._counters.get(base, 0)
            Layer._counters[base] = n + 1
            name = base if n == 0 else f"{base}_{n}"
        Layer.__init__(self, name=name, **kwargs)
        Trainer.__init__(self)
        self._graph = None
        self._output_structure = None     # the outputs as given: a tensor, list or dict
        self._input_names: list = []
        self._output_names: list = []
        self._device = torch.device("cpu")
        self._dtype = None                # set at build (floatx) or by .to(dtype)
        self._buffer = None               # FlatBuffer of trainable weights
        self._frozen_buffer = None
        self._shuffle_generator = make_generator()
        if (inputs is None) != (outputs is None):
            raise ValueError(f"Invalid arguments: a functional model needs both inputs and outputs, "
                             f"received {'inputs' if inputs is not None else 'outputs'} only")
        self._input_keys = list(inputs) if isinstance(inputs, dict) else None
        if inputs is not None:
            self._set_graph(*_flatten_io(inputs, "inputs"), outputs)
        if not trainable:
            self.trainable = False

    def _finish_build(self, input_shape) -> None:
        """After a user subclass's own build(input_shape) (its weights, as in Keras; wrapped by
        `Layer.__init_subclass__`): trace call(), unless that build ran Model.build itself."""
        if self._graph is None:
            Model.build(self, input_shape)

    # ----- the graph --------------------------------------------------------------------------
    def _set_graph(self, inputs: list, input_structure, outputs) -> None:
        flat_out, _ = _flatten_io(outputs, "outputs")
        graph = Graph(inputs, flat_out)
        self._graph = graph
        self._input_structure = input_structure
        self._output_structure = outputs
        self._input_names = [t.node.layer.name for t in inputs]
        if isinstance(outputs, dict):
            self._output_names = [str(k) for k in outputs]
        else:
            self._output_names = _unique_names([_producer_name(t) for t in flat_out])
        self.built = True
        self.input_spec = None
        self._after_build()

    @property
    def layers(self) -> list:
        """The layers in graph order (a functional model lists its InputLayers first, as Keras),
        without the operations that ks.ops and operators recorded (`x + y`, `ks.ops.exp(x)`),
        as in Keras."""
        return [layer for layer in self._graph_layers() if not layer.is_operation]

    def _graph_layers(self) -> list:
        """`layers` with the operations: every layer the model runs (weights, state, RNG)."""
        if self._graph is None:
            return []
        inputs = [t.node.layer for t in self._graph.inputs]
        rest = [layer for layer in self._graph.layers if not any(layer is i for i in inputs)]
        if defines_call(self):  # subclassed: the traced inputs are not layers of the user's model
            return rest
        return inputs + rest

    def build(self, input_shape) -> None:
        """Build for inputs of `input_shape` (batch dimension first; a list for several inputs).

        A functional model is built at construction; a subclassed one traces `call` here."""
        if self._graph is not None:
            return
        if not defines_call(self):
            raise ValueError(f"Model '{self.name}' has no graph: pass inputs and outputs to "
                             f"ks.Model(inputs, outputs), or subclass ks.Model and define call()")
        if isinstance(input_shape, list):
            shape = [(None, *tuple(s)[1:]) for s in input_shape]
        else:
            shape = (None, *tuple(input_shape)[1:])
        training = TracedTraining() if accepts_training(self.call) else None
        graph, outputs = trace_call(self, shape, training=training)
        self._set_graph(graph.inputs, "list" if isinstance(shape, list) else "single", outputs)

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            self.build(input_shape)
        expected = self.input_shape
        several = isinstance(expected, list)
        got = [tuple(s) for s in input_shape] if isinstance(input_shape, list) else \
            tuple(input_shape)
        bad = several != isinstance(got, list) or (
            several and (len(got) != len(expected) or any(_differs(e, g)
                                                          for e, g in zip(expected, got)))
            or not several and _differs(expected, got))
        if bad:
            raise ValueError(f"Model '{self.name}' expects inputs of shape {expected}, received "
                             f"{got}")

    @property
    def input(self):
        """The model's input tensor(s) as given to `ks.Model(inputs, ...)` (Keras's `model.input`):
        a tensor, a list or a dict; a Sequential or subclassed model's one input (a list for
        several)."""
        self._require_built("input")
        ins = self._graph.inputs
        if self._input_structure == "dict":
            return dict(zip(self._input_keys, ins))
        return ins[0] if self._input_structure == "single" else list(ins)

    @property
    def output(self):
        """The model's output tensor(s) as given to `ks.Model(..., outputs)`: a tensor, a list or a
        dict."""
        self._require_built("output")
        return self._output_structure

    @property
    def inputs(self) -> list:
        self._require_built("inputs")
        return list(self._graph.inputs)

    @property
    def outputs(self) -> list:
        self._require_built("outputs")
        return list(self._graph.outputs)

    @property
    def input_names(self) -> list:
        return list(self._input_names)

    @property
    def output_names(self) -> list:
        return list(self._output_names)

    @property
    def input_shape(self):
        """(None, ...) for one input; a list of them for several."""
        self._require_built("input_shape")
        shapes = [t.shape for t in self._graph.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        self._require_built("output_shape")
        shapes = [t.shape for t in self._graph.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def forward(self, x, training: bool = False):
        """The layer protocol, for a model used inside another one: `(y, backward)`."""
        return run_nested(self._graph, x, training)

    mask_enters_graph = True  # as Keras's functional models: masks flow through the graph

    def _run(self, xs: list, training: bool, steps=None):
        """Outputs (a list) for the input tensors `xs`, and `backward(dys)`."""
        return self._graph.forward(xs, training, steps)

    def __call__(self, x, *args, training=False):
        """`model(x)`: on symbolic tensors, a node of an outer graph; on data, the outputs for one
        batch on the model's device (Keras's call; built on first data like predict). Several
        inputs: a list, a dict, or positional arguments as `Layer.__call__` takes them."""
        x, training = _positional_inputs(self, x, args, training)
        if is_symbolic(x):
            return Layer.__call__(self, x)
        return self._call_on_data(x, training)

    # ----- weights ---------------------------------------------------------------------------
    def _sublayers(self) -> list:
        """Every layer the model runs, in graph order: `weights` lists theirs in that order
        (Keras's; a shared layer's or a nested model's once, a subclass's own add_weight first),
        and `trainable = False` freezes them all."""
        return self._graph_layers()

    def get_layer(self, name: str | None = None, index: int | None = None):
        """The layer called `name`, or the one at position `index` (Keras's arguments)."""
        if (name is None) == (index is None):
            raise ValueError(f"Invalid arguments: expected a layer name or an index (one of them), "
                             f"received name={name!r}, index={index!r}")
        layers = self.layers
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, numbers.Integral) or \
                    not -len(layers) <= index < len(layers):
                raise ValueError(f"Invalid index: model '{self.name}' has {len(layers)} layers, "
                                 f"received {index!r}")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"Invalid name: no layer {name!r} in model '{self.name}'; its layers are "
                         f"{[layer.name for layer in layers]}")

    def count_params(self) -> int:
        self._require_built("count_params")
        return sum(w.numel() for w in self.weights)

    def get_weights(self) -> list:
        """All weights as NumPy arrays in layer order (Keras's layout: Dense kernel (in, units))."""
        return [w.value.detach().cpu().numpy().copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Set all weights from arrays in `get_weights` order; every value is checked first."""
        self._require_built("set_weights")
        assign_all(self.weights, weights, f"model '{self.name}'")

    def _pack_weights(self) -> None:
        """Lay trainable weights out in one flat buffer (and frozen ones in another)."""
        dtype = self._dtype
        trainable, frozen = self.trainable_weights, self.non_trainable_weights
        self._buffer = pack(trainable, dtype, self._device) if trainable else None
        self._frozen_buffer = pack(frozen, dtype, self._device) if frozen else None
        if self._dtype is None:
            first = (trainable or frozen or [None])[0]
            self._dtype = first.value.dtype if first is not None else None

    def to(self, device=None, dtype=None):
        """Move weights and optimizer state: `model.to("cuda")`, `model.to(torch.float64)`."""
        if isinstance(device, torch.dtype):
            device, dtype = None, device
        if dtype is not None and (not isinstance(dtype, torch.dtype) or not dtype.is_floating_point):
            raise TypeError(f"Invalid dtype: expected a floating torch.dtype, received {dtype!r}")
        if device is not None:
            try:
                device = torch.device(device)
            except (RuntimeError, TypeError) as e:
                raise ValueError(f"Invalid device: expected a torch.device, a device string such as "
                                 f"'cpu' or 'cuda', or a floating torch.dtype, received "
                                 f"{device!r}") from e
            if device.type == "cuda" and not torch.cuda.is_available():
                raise ValueError(f"Invalid device: {device} is not available here "
                                 f"(torch.cuda.is_available() is False)")
            if device.type == "cuda" and device.index is None:
                device = torch.device("cuda", torch.cuda.current_device())
            self._device = device
        if dtype is not None:
            self._dtype = dtype
        if self.built:
            for buf in (self._buffer, self._frozen_buffer):
                if buf is not None:
                    buf.to(self._device, self._dtype)
            if self.optimizer is not None and getattr(self.optimizer, "buffer", None) is not None:
                self.optimizer.build(self.weights)
                self.optimizer.to(self._device, self._dtype)
        return self

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def dtype(self):
        return self._dtype


    # ----- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """A functional model's graph as plain data (see functional_config.py). A subclassed model
        defines its own get_config / from_config, as in Keras."""
        if defines_call(self) or self._graph is None:
            raise NotImplementedError(
                f"Model '{self.name}' is a subclassed model ({type(self).__name__}): its "
                f"architecture is Python code, so define get_config() returning its constructor "
                f"arguments (and from_config if needed), or save the weights only with "
                f"save_weights()")
        from .functional_config import graph_config

        return graph_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        """The model `get_config` describes; `custom_objects` ({name: class or function}) as in
        `load_model`, for custom layers the config names."""
        from ..saving import custom_object_scope

        with custom_object_scope(custom_objects):
            if "nodes" in config:
                from .functional_config import from_graph_config

                return from_graph_config(cls, config)
            return cls(**config)

    def to_json(self, **kwargs) -> str:
        """The architecture (no weights) as JSON; `ks.models.model_from_json` rebuilds it."""
        from .json_config import to_json

        return to_json(self, **kwargs)

    # ----- saving and summary ----------------------------------------------------------------
    def save(self, filepath) -> None:
        """Architecture, weights, compile settings and optimizer state in one file (atomic write)."""
        from .saving import save_model

        save_model(self, filepath)

    def save_weights(self, filepath) -> None:
        """Weights only (atomic write)."""
        from .saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath) -> None:
        """Load weights saved by `save_weights` or `save`; mismatches are a ValueError."""
        from .saving import load_weights

        load_weights(self, filepath)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Print layers, output shapes and parameter counts (trainable / frozen totals), with
        Keras's arguments (see kerasette/models/summary.py)."""
        from .summary import summary_lines

        self._require_built("summary")
        if print_fn is not None and not callable(print_fn):
            raise TypeError(f"Invalid print_fn: expected a function taking a line, received "
                            f"{type(print_fn).__name__}")
        for line in summary_lines(self, line_length, positions, show_trainable, expand_nested,
                                  layer_range):
            (print_fn or print)(line)

    # ----- random state (for exact resumption) -----------------------------------------------
    def _generators(self) -> dict:
        gens = {"shuffle": self._shuffle_generator}
        for i, layer in enumerate(self._graph_layers()):
            inner = layer._generators() if isinstance(layer, Model) else {
                k: g for k, g in layer.rng_generators().items()}
            for key, g in inner.items():
                if key != "shuffle":
                    gens[f"layer{i}/{key}"] = g
        return gens

    def get_rng_state(self) -> dict:
        """States of every generator fit draws from (shuffling, dropout), for BackupAndRestore."""
        return {k: g.get_state() for k, g in self._generators().items()}

    def set_rng_state(self, state: dict) -> None:
        gens = self._generators()
        for k, s in state.items():
            if k in gens:
                gens[k].set_state(s)


__all__ = ["Model", "NotCompiledError"]
