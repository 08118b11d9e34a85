"""`Sequential`: a stack of layers, each feeding the next — a chain graph on the one executor.

    model = ks.Sequential([ks.Input((2,)), Dense(25, activation="relu"), Dense(1)])

Building (from `ks.Input`, a first layer's `input_shape`, or the first data) calls every layer in
turn on a symbolic input, which records the chain h_i = layer_i(h_{i-1}); the model is then a graph
like any functional model and runs on the same executor (`kerasette.graph`):

    h0 = x;  h_i, back_i = layer_i.forward(h_{i-1})          (i = 1..L)
    dh_L = dL/dy;  dh_{i-1} = back_i(dh_i)                     (i = L..1)

The executor's plan stops the backward at the first layer with trainable weights, which skips its
dL/dx: nothing is computed that no weight needs.
"""

from ..graph import KerasTensor
from ..layers import InputLayer, Layer
from ..layers import deserialize as deserialize_layer
from ..layers import serialize as serialize_layer
from .model import Model


class Sequential(Model):
    """`Sequential([ks.Input((2,)), Dense(25, activation="relu"), Dense(1)])`."""

    def __init__(self, layers=None, name: str | None = None, trainable: bool = True):
        super().__init__(name=name)
        self._layers: list[Layer] = []
        self._input_layer = None
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                raise TypeError(f"Invalid layers: expected a list of layers, received "
                                f"{type(layers).__name__}")
            for layer in layers:
                self.add(layer, rebuild=False)
            if self._input_layer is not None and self._layers:
                self._build_chain()
        if not trainable:
            self.trainable = False

    # ----- the stack --------------------------------------------------------------------------
    @property
    def layers(self) -> list:
        return list(self._layers)

    def _graph_layers(self) -> list:
        return list(self._layers)  # a chain of the user's layers: no operations

    def add(self, layer, rebuild: bool = True) -> None:
        """Append a layer or a model (or set the input shape with `ks.Input`)."""
        if isinstance(layer, KerasTensor) and layer.node is not None and \
                isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("Invalid layer: ks.Input must come first in a Sequential model")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Invalid layer: expected a kerasette Layer or Model, received "
                            f"{type(layer).__name__}")
        if any(layer is other for other in self._layers):
            raise ValueError(f"Invalid layer: '{layer.name}' is already in the model")
        if not self._layers and self._input_layer is None:
            self._input_layer = _input_fixed_by(layer)
        self._layers.append(layer)
        if rebuild and self._input_layer is not None:
            self._build_chain()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise ValueError("Invalid pop: the model has no layers")
        layer = self._layers.pop()
        if not self._layers:  # nothing left to build: back to an empty, unbuilt model
            self.built, self._graph = False, None
            self._buffer = self._frozen_buffer = None
        elif self.built:
            self._build_chain()
        return layer

    # ----- building ---------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Build every layer for inputs of `input_shape` (batch dimension first)."""
        if not self._layers:
            raise ValueError(f"Model '{self.name}' has no layers to build")
        per_sample = tuple(tuple(input_shape)[1:])
        if self._input_layer is None or self._input_layer.shape != per_sample:
            self._input_layer = InputLayer(per_sample)
        self._build_chain()

    def _build_chain(self) -> None:
        h = self._input_layer.output
        for layer in self._layers:
            h = layer(h)
        self._set_graph([self._input_layer.output], "single", h)

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            self.build(input_shape)
        super()._maybe_build(input_shape)

    # ----- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        shape = None if self._input_layer is None else list(self._input_layer.shape)
        return {"name": self.name, "input_shape": shape,
                "layers": [serialize_layer(layer) for layer in self._layers]}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Sequential":
        from ..saving import custom_object_scope

        with custom_object_scope(custom_objects):
            layers = [deserialize_layer(c) for c in config["layers"]]
        model = cls(layers, name=config.get("name"))
        if config.get("input_shape") is not None:
            model.build((None, *config["input_shape"]))
        return model


def _input_fixed_by(first: Layer):
    """The InputLayer a first layer already fixes, or None: Keras's `Dense(..., input_shape=)`, or a
    built model with one input (Keras builds `Sequential([base_model, ...])` at once)."""
    if first.input_shape_arg is not None:
        return InputLayer(first.input_shape_arg)
    if isinstance(first, Model) and first.built and len(first.inputs) == 1:
        t = first.inputs[0]
        return InputLayer(t.shape[1:], dtype=t.dtype)
    return None
