"""Layer wrappers (Keras 3's `keras.layers.Bidirectional`, `keras.layers.TimeDistributed`): a
layer that runs another one, with the wrapped layer's weights as its own.

Bidirectional(rnn): the recurrent layer, and a copy of it that reads the steps the other way
(`go_backwards` flipped, its own weights, named "forward_<name>" / "backward_<name>"); with
`return_sequences` the backward copy's outputs are put back in time order, then both are merged:

    y = merge(y_f, y_b)     concat (last axis) | sum | mul | ave | None (the list [y_f, y_b])
    dy_f, dy_b = the merge's gradients          dx = dx_f + dx_b

Masks (Keras 3's): Bidirectional passes the mask to both layers and, as Keras, sets their
`zero_output_for_mask` to `return_sequences` (padded steps give 0 in both halves); the output's
mask is the input's when returning sequences (a pair with merge_mode None), else None, and None for
the states.

TimeDistributed(layer): the layer applied to every step of (N, T, ...) by folding the steps into
the batch, (N T, ...), and unfolding the result; the backward folds and unfolds dy the same way.
A mask (N, T) passes through unchanged; a layer that reads masks (`uses_mask`) is refused one.
"""

import torch

from .. import layers as _layers
from .base import Layer
from .mask_protocol import mask_of

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class _Wrapper(Layer):
    """Weights, trainability (through `_sublayers`) and random state are the wrapped layers'."""

    def _sublayers(self) -> list:
        raise NotImplementedError

    def rng_generators(self) -> dict:
        return {f"{i}/{key}": gen for i, layer in enumerate(self._sublayers())
                for key, gen in layer.rng_generators().items()}


class Bidirectional(_Wrapper):
    """A recurrent layer run forwards and backwards, outputs merged (see the module docstring)."""

    uses_mask = True
    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        from .recurrent import _Recurrent

        if not isinstance(layer, _Recurrent):
            raise TypeError(f"Invalid layer: Bidirectional wraps a SimpleRNN, LSTM or GRU, "
                            f"received {type(layer).__name__}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Invalid merge_mode: expected one of {list(MERGE_MODES)}, "
                             f"received {merge_mode!r}")
        if weights is not None:
            raise ValueError("Invalid weights: set them with set_weights() once the layer is built")
        super().__init__(**kwargs)
        config = layer.get_config()
        self.forward_layer = type(layer).from_config({**config, "name": f"forward_{layer.name}"})
        if backward_layer is None:
            backward_layer = type(layer).from_config(
                {**config, "name": f"backward_{layer.name}",
                 "go_backwards": not layer.go_backwards})
        elif type(backward_layer) is not type(layer) or \
                backward_layer.go_backwards == layer.go_backwards or \
                backward_layer.return_sequences != layer.return_sequences or \
                backward_layer.return_state != layer.return_state:
            raise ValueError("Invalid backward_layer: expected a layer of the same class with the "
                             "other go_backwards and the same return_sequences / return_state")
        self.backward_layer = backward_layer
        for inner in (self.forward_layer, self.backward_layer):  # as Keras 3 does
            inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        self._layer_config = layer

    def _sublayers(self) -> list:
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)

    def forward(self, x, training=False, mask=None):
        """`mask`: (N, T) bool, True = real step, or None; both layers get it."""
        yf, back_f = self.forward_layer.forward(x, training, mask=mask)
        yb, back_b = self.backward_layer.forward(x, training, mask=mask)
        states = self.return_state
        out_f, out_b = (yf[0], yb[0]) if states else (yf, yb)
        if self.return_sequences:
            out_b = out_b.flip(1)  # the backward copy's steps back in time order
        merged = self._merge(out_f, out_b)
        outputs = merged if not states else (
            [*merged] if self.merge_mode is None else [merged]) + list(yf[1:]) + list(yb[1:])
        n_merged = 2 if self.merge_mode is None else 1

        def backward(dy, need_dx=True):
            dys = list(dy) if isinstance(dy, (list, tuple)) else [dy]
            d_merged, d_states = dys[:n_merged], dys[n_merged:]
            df, db = self._merge_backward(d_merged, out_f, out_b)
            if db is not None and self.return_sequences:
                db = db.flip(1)
            k = len(yf) - 1 if states else 0
            dyf = [df, *d_states[:k]] if states else df
            dyb = [db, *d_states[k:]] if states else db
            dx_f = back_f(dyf, need_dx) if _any(dyf) else None
            dx_b = back_b(dyb, need_dx) if _any(dyb) else None
            if not need_dx:
                return None
            return dx_f if dx_b is None else dx_b if dx_f is None else dx_f + dx_b

        return outputs, backward

    skips_input_grad = True

    def _merge(self, a, b):
        mode = self.merge_mode
        if mode == "concat":
            return torch.cat([a, b], -1)
        if mode == "sum":
            return a + b
        if mode == "mul":
            return a * b
        if mode == "ave":
            return (a + b) / 2
        return [a, b]

    def _merge_backward(self, d_merged, a, b):
        mode = self.merge_mode
        if mode is None:
            return d_merged[0], d_merged[1]
        d = d_merged[0]
        if d is None:
            return None, None
        if mode == "concat":
            u = a.shape[-1]
            return d[..., :u], d[..., u:]
        if mode == "sum":
            return d, d
        if mode == "mul":
            return d * b, d * a
        return d / 2, d / 2

    def compute_mask(self, x, mask=None):
        """Keras's: the input's mask when returning sequences (merge_mode None: one per half), else
        None (None, None); with `return_state` a None per state of each layer after them."""
        mask = mask_of(x, mask)
        out = mask if self.return_sequences else None
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            return outs + [None] * (2 * self.forward_layer._state_count())
        return outs if self.merge_mode is None else out

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        out, states = (shape[0], shape[1:]) if self.return_state else (shape, [])
        if self.merge_mode == "concat":
            out = (*out[:-1], None if out[-1] is None else 2 * out[-1])
        merged = [out, out] if self.merge_mode is None else [out]
        if not self.return_state:
            return merged[0] if self.merge_mode is not None else merged
        return merged + list(states) * 2

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": _layers.serialize(self._layer_config),
                "merge_mode": self.merge_mode,
                "backward_layer": _layers.serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        layer = _layers.deserialize(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        return cls(layer, backward_layer=None if backward is None else
                   _layers.deserialize(backward), **config)


def _any(d) -> bool:
    return any(t is not None for t in d) if isinstance(d, list) else d is not None


class TimeDistributed(_Wrapper):
    """`layer` applied to every step of (N, T, ...) inputs (see the module docstring)."""

    supports_masking = True  # the mask passes through unchanged

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"Invalid layer: expected a Layer, received {type(layer).__name__}")
        super().__init__(**kwargs)
        self.layer = layer

    def _sublayers(self) -> list:
        return [self.layer]

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"Layer '{self.name}' expects inputs of shape (batch, steps, ...), "
                             f"received {tuple(input_shape)}")
        self.layer._maybe_build((None, *input_shape[2:]))

    @property
    def uses_mask(self) -> bool:
        """True when the inner layer reads masks: forward then gets the mask, to refuse it."""
        return self.layer.uses_mask

    def forward(self, x, training=False, mask=None):
        if mask is not None:
            raise ValueError(f"Invalid mask: TimeDistributed '{self.name}' does not support "
                             f"masks for a layer that reads them ({type(self.layer).__name__} "
                             f"'{self.layer.name}'): expected no mask, received one")
        n, steps = x.shape[0], x.shape[1]
        y, back = self.layer.forward(x.reshape(n * steps, *x.shape[2:]), training)

        def backward(dy, need_dx=True):
            dx = back(dy.reshape(n * steps, *dy.shape[2:]))
            return dx.reshape(x.shape) if need_dx else None
        return y.reshape(n, steps, *y.shape[1:]), backward

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": _layers.serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        return cls(_layers.deserialize(config.pop("layer")), **config)
