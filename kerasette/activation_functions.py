"""An activation written as a function of `ks.ops`, Keras's `Dense(4, activation=my_fn)`:

    @ks.saving.register_keras_serializable(package="my_package")
    def squared(x):
        return x ** 2

kerasette has no autograd to differentiate Python, so the function is traced: it runs once on a
symbolic tensor of the input's per-sample shape and dtype (once more for new ones), the ops it calls
record graph nodes with hand-written backwards, and its backward is a backward pass through that
graph. So it may use what builds nodes on symbolic tensors: the differentiable `ks.ops`,
`+ - * / ** @`, `x[key]`, comparisons and `ks.ops.where`. A torch function (`torch.relu`) cannot be
traced: that is found when the activation is given (on a one-feature probe), with the name to use.

It saves by the function's registered name (or its name and module, found again when that module is
loaded, as a class is); a lambda has no name to save by.
"""

import sys

from .activations import ActivationFunction


class FunctionActivation(ActivationFunction):
    """`fn(x)` written with ks.ops, as an activation with a traced backward."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"Invalid fn: expected a function of x, received {type(fn).__name__}")
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self._graphs = {}  # (per-sample shape, dtype) -> Graph
        self._graph((1,), None)  # a function that cannot be traced fails here, not in fit

    def forward(self, x):
        graph = self._graph(tuple(x.shape[1:]), x.dtype)
        (y,), backward = graph.forward([x], False, graph.plan(input_grads=True))
        return y, lambda dy: backward([dy])[0]

    def _graph(self, shape: tuple, dtype):
        from .graph.executor import Graph
        from .graph.symbolic import KerasTensor
        from .layers.core import InputLayer

        key = (shape, dtype)
        graph = self._graphs.get(key)
        if graph is not None:
            return graph
        x = InputLayer(shape, dtype=dtype, name=f"{self.name}_x").output
        try:
            y = self.fn(x)
        except (TypeError, AttributeError) as e:
            from .activations import _REGISTRY

            same = self.name.lower() if self.name.lower() in _REGISTRY else None
            raise TypeError(
                f"Invalid activation: the function '{self.name}' could not be traced on a symbolic "
                f"tensor ({type(e).__name__}: {e}); kerasette writes each backward by hand, so an "
                f"activation function may use only ks.ops with a gradient, + - * / ** @ and "
                f"x[key], not torch functions"
                + (f" (for this one use the name {same!r})" if same else "")) from e
        except ValueError:
            if shape == (1,):  # the one-feature probe: shape-specific functions trace later
                return None
            raise
        if not isinstance(y, KerasTensor):
            raise TypeError(f"Invalid activation: the function '{self.name}' must return ks.ops "
                            f"of its input, received {type(y).__name__}")
        graph = self._graphs[key] = Graph([x], [y])
        return graph

    def get_config(self) -> dict:
        from .saving import get_registered_name

        if self.name == "<lambda>":
            raise ValueError("Cannot serialize an activation given as a lambda: define a named "
                             "function (registered with ks.saving.register_keras_serializable) "
                             "to save the model, or save its weights only")
        return {"function": get_registered_name(self.fn), "module": self.fn.__module__}

    def __eq__(self, other):
        return type(other) is FunctionActivation and other.fn is self.fn

    def __hash__(self):
        return hash((FunctionActivation, id(self.fn)))


def from_config(config: dict) -> FunctionActivation:
    """The activation `get_config` wrote: the function by registered name (custom_objects
    first), or by name in its module when that module is loaded."""
    from .saving import find_custom

    name, module = config.get("function"), config.get("module")
    fn = find_custom(name)
    if fn is None and isinstance(name, str) and isinstance(module, str):
        fn = getattr(sys.modules.get(module), name, None)
    if not callable(fn):
        raise ValueError(f"Unknown activation function {name!r}: pass custom_objects={{{name!r}: "
                         f"the function}} to load_model, or register it with "
                         f"@ks.saving.register_keras_serializable()")
    return FunctionActivation(fn)
