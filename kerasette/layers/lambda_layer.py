"""`Lambda`: a function of a layer's input(s) as a layer, traced into a graph like a composite
layer's `call`.

    h = ks.layers.Lambda(lambda t: ks.ops.square(t) - t)(h)
    scaled = ks.layers.Lambda(lambda t, k: t * k, arguments={"k": 0.5})(h)

kerasette writes every backward by hand, so the function may only use what records graph nodes that
have one: the differentiable `ks.ops` (`ks.ops.dispatch.DIFFERENTIABLE`), `+ - * /` and unary `-`
between tensors and numbers, and layers. The first time the layer sees an input shape the function
runs once on symbolic tensors of that shape; the recorded graph then runs forward and backward on
data with each step's own backward. A torch function applied to the input (`torch.exp(t)`) cannot
be traced and raises a TypeError that says so; so does a function that branches on data values.

Layers with weights belong outside the function (give them to the model, or write a Layer subclass
with a `call`): created inside it they are not the model's attributes (Keras warns about the same).
A Lambda cannot be saved to a config or a file: its function is Python code, which kerasette does
not write into files (Keras needs `safe_mode=False` to load one). Rebuild the model in code and use
`save_weights` / `load_weights`.
"""

from .base import Layer


class Lambda(Layer):
    """y = function(x, **arguments), traced on symbolic tensors (see the module docstring).

    `output_shape` (per sample, batch axis excluded), when given, is checked against the traced
    shape; `mask` must be None (kerasette has no masking).
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        if not callable(function):
            raise TypeError(f"Invalid function: expected a callable, received "
                            f"{type(function).__name__}")
        if mask is not None:
            raise ValueError(f"Invalid mask: kerasette has no masking, expected None, received "
                             f"{mask!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Invalid arguments: expected a dict of keyword arguments for the "
                            f"function, received {type(arguments).__name__}")
        if output_shape is not None and not (isinstance(output_shape, (tuple, list)) and all(
                d is None or isinstance(d, int) and not isinstance(d, bool) and d > 0
                for d in output_shape)):
            raise ValueError(f"Invalid output_shape: expected a tuple of positive ints (batch "
                             f"axis excluded) or None, received {output_shape!r}")
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self.output_shape_arg = None if output_shape is None else tuple(output_shape)

    def call(self, inputs):
        try:
            return self.function(inputs, **self.arguments)
        except TypeError as e:
            if "KerasTensor" not in str(e):
                raise
            from ..ops.dispatch import DIFFERENTIABLE  # ks.ops imports the layers package
            raise TypeError(
                f"Lambda '{self.name}' could not be traced: its function used an operation that "
                f"needs data on a symbolic tensor ({e}). The function runs once on symbolic "
                f"tensors and may use only ops with a hand-written backward: ks.ops."
                f"{', ks.ops.'.join(DIFFERENTIABLE)}; + - * / between tensors and numbers; and "
                f"layers") from e

    def compute_output_shape(self, input_shape):
        shape = super().compute_output_shape(input_shape)  # the traced graph's
        expected = self.output_shape_arg
        if expected is not None and (isinstance(shape, list) or tuple(shape[1:]) != expected):
            raise ValueError(f"Lambda '{self.name}': output_shape={expected} (per sample), but "
                             f"the function returns shape {shape}")
        return shape

    def get_config(self) -> dict:
        raise TypeError(f"Lambda '{self.name}' cannot be saved to a config or a file: its "
                        f"function is Python code, which kerasette does not write into files. "
                        f"Rebuild the model in code and use save_weights / load_weights, or "
                        f"write a Layer subclass with call() and get_config()")

    @classmethod
    def from_config(cls, config: dict):
        raise TypeError("A Lambda layer cannot be rebuilt from a config: kerasette never saves "
                        "its function (see kerasette/layers/lambda_layer.py)")
