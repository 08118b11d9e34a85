"""`Sequential`: a stack of layers, each feeding the next.

Forward runs the layers in order and keeps each one's backward closure; the model's backward calls
them in reverse:

    h0 = x;  h_i, back_i = layer_i.forward(h_{i-1})          (i = 1..L)
    dh_L = dL/dy;  dh_{i-1} = back_i(dh_i)                     (i = L..1)

The backward pass stops at the first layer that has trainable weights, and that layer skips dL/dx
(`Layer.skips_input_grad`): like autograd, nothing is computed that no weight needs.

With `fused=True` a trailing sigmoid/softmax is left out of the pass (the loss then takes logits and
its gradient is the stable p - y); the probabilities are still computed for the metrics.
"""

from ..layers import Dense, InputLayer, Layer
from ..layers import deserialize as deserialize_layer
from ..layers import serialize as serialize_layer
from .model import Model


class Sequential(Model):
    """`Sequential([ks.Input((2,)), Dense(25, activation="relu"), Dense(1)])`."""

    def __init__(self, layers=None, name: str | None = None, trainable: bool = True):
        super().__init__(name)
        self._layers: list[Layer] = []
        self._input_shape = None
        self._output_shape = None
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                raise TypeError(f"Invalid layers: expected a list of layers, received "
                                f"{type(layers).__name__}")
            for layer in layers:
                self.add(layer, rebuild=False)
            if self._input_shape is not None:
                self.build(self._input_shape)
        if not trainable:
            for layer in self._layers:
                layer.trainable = False

    # ----- the stack --------------------------------------------------------------------------
    @property
    def layers(self) -> list:
        return list(self._layers)

    def add(self, layer, rebuild: bool = True) -> None:
        """Append a layer (or set the input shape with `ks.Input`)."""
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("Invalid layer: ks.Input must come first in a Sequential model")
            self._input_shape = (None, *layer.shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Invalid layer: expected a kerasette Layer, received "
                            f"{type(layer).__name__}")
        if any(layer is other for other in self._layers):
            raise ValueError(f"Invalid layer: '{layer.name}' is already in the model")
        if not self._layers and self._input_shape is None and layer.input_shape_arg is not None:
            self._input_shape = (None, *layer.input_shape_arg)  # Keras's Dense(..., input_shape=)
        self._layers.append(layer)
        if rebuild and self._input_shape is not None:
            self.build(self._input_shape)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise ValueError("Invalid pop: the model has no layers")
        layer = self._layers.pop()
        if not self._layers:  # nothing left to build: back to an empty, unbuilt model
            self.built, self._output_shape = False, None
            self._buffer = self._frozen_buffer = None
        elif self.built:
            self.build(self._input_shape)
        return layer

    # ----- building ---------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Build every layer for inputs of `input_shape` (batch dimension first)."""
        if not self._layers:
            raise ValueError(f"Model '{self.name}' has no layers to build")
        shape = (None, *tuple(input_shape)[1:])
        self._input_shape = shape
        for layer in self._layers:
            layer._maybe_build(shape)
            shape = tuple(layer.compute_output_shape(shape))
        self._output_shape = shape
        self.built = True
        self._after_build()

    @property
    def input_shape(self) -> tuple:
        self._require_built("input_shape")
        return self._input_shape

    @property
    def output_shape(self) -> tuple:
        self._require_built("output_shape")
        return self._output_shape

    def _after_build(self) -> None:
        super()._after_build()
        # Index of the first layer with a trainable weight (len(layers) if none): where backward stops.
        self._first_trained = next((i for i, layer in enumerate(self._layers)
                                    if layer.trainable_weights), len(self._layers))

    def _output_activation_name(self):
        act = getattr(self._layers[-1], "activation", None) if self._layers else None
        name = getattr(act, "name", None)
        if name == "softmax" and getattr(act, "axis", -1) not in (-1, len(self._output_shape) - 1):
            return None  # the cross-entropies fuse a softmax over the last (class) axis only
        return name

    # ----- forward / backward -----------------------------------------------------------------
    def _forward(self, x, training: bool, fused: bool = False):
        """(out, pred, backward): `out` feeds the loss, `pred` the metrics (they differ when fused)."""
        layers = self._layers
        backs = []
        h = x
        last = len(layers) - 1
        for i, layer in enumerate(layers):
            if fused and i == last:
                h, back, pred = _forward_logits(layer, h, training)
                backs.append(back)
                break
            h, back = layer.forward(h, training)
            backs.append(back)
        else:
            pred = h

        first = self._first_trained

        def backward(dy):
            # Layers before the first trainable one need no backward at all (no weight to update,
            # and nobody needs dL/dx of the data); the first trainable one skips its dx if it can.
            for back in reversed(backs[first + 1:]):
                dy = back(dy)
            if first < len(backs):
                if layers[first].skips_input_grad:
                    backs[first](dy, need_dx=False)
                else:
                    backs[first](dy)

        return h, pred, backward

    # ----- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name,
                "input_shape": None if self._input_shape is None else list(self._input_shape[1:]),
                "layers": [serialize_layer(layer) for layer in self._layers]}

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        layers = [deserialize_layer(c) for c in config["layers"]]
        model = cls(layers, name=config.get("name"))
        if config.get("input_shape") is not None:
            model.build((None, *config["input_shape"]))
        return model


def _forward_logits(layer, h, training):
    """Run the last layer without its sigmoid/softmax: (logits, backward, probabilities)."""
    act = layer.activation
    if isinstance(layer, Dense):
        z, back = layer.forward(h, training, apply_activation=False)
    else:  # an activation layer: logits are its input
        z, back = h, (lambda dz: dz)
    return z, back, act.forward(z)[0]
