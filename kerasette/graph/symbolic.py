"""Symbolic tensors: what `ks.Input` returns and what a layer called on one returns.

    inputs = ks.Input(shape=(8,))                  # KerasTensor, shape (None, 8)
    h = ks.layers.Dense(4)(inputs)                 # records a Node: (dense, [inputs]) -> [h]
    y = h + ks.layers.Dense(4)(h)                  # `+` records an Add node

A `KerasTensor` holds no data: a shape (batch dimension None), a dtype, and the `Node` that produced
it. Calling a layer on KerasTensors builds the layer for their shapes (once), infers the output shapes
with `compute_output_shape`, and records a node; the same layer called twice is one set of weights
used by two nodes (a shared layer). `ks.Model(inputs, outputs)` then walks the nodes back from the
outputs (`kerasette.graph.executor.Graph`).
"""

import numbers

import torch

from .. import config


class Node:
    """One call of `layer`: the KerasTensors it read and the ones it produced.

    `several` is True when the layer was called on a list (it then gets a list in forward and returns
    a tuple of input gradients).
    """

    __slots__ = ("layer", "inputs", "outputs", "several", "multi_output")

    def __init__(self, layer, inputs, several: bool, multi_output: bool = False):
        self.layer = layer
        self.inputs = list(inputs)
        self.several = several
        self.multi_output = multi_output
        self.outputs = []

    def __repr__(self):
        return f"<Node {self.layer.name}: {[t.name for t in self.inputs]} -> " \
               f"{[t.name for t in self.outputs]}>"


def _via_ops(name: str, reverse: bool = False):
    """A KerasTensor operator that calls `ks.ops.<name>` (imported when called: ks.ops imports
    this module)."""
    def operator(self, other):
        from .. import ops

        fn = getattr(ops, name)
        return fn(other, self) if reverse else fn(self, other)
    operator.__name__ = f"{'r' if reverse else ''}{name}"
    return operator


class KerasTensor:
    """A symbolic tensor: shape (batch dimension None), dtype, and the node that produced it."""

    __slots__ = ("shape", "dtype", "node", "index", "name")

    def __init__(self, shape, dtype=None, node: Node | None = None, index: int = 0,
                 name: str | None = None):
        self.shape = tuple(shape)
        self.dtype = dtype or config.floatx_dtype()
        self.node = node
        self.index = index
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        dtype = str(self.dtype).replace("torch.", "")
        return f"<KerasTensor shape={self.shape}, dtype={dtype}, name={self.name}>"

    # ----- Keras's operators on symbolic tensors: each records a merge node ------------------
    def _merge(self, other, cls_name: str, reverse: bool = False):
        """`self (op) other` as a node: a merge layer for two symbolic tensors with a batch axis,
        else the matching `ks.ops` layer (a constant operand, or a weight read without one)."""
        from .. import layers, ops
        from ..layers.base import mark_operation

        if not isinstance(other, KerasTensor) or cls_name == "Divide" or not (
                self.shape and other.shape and self.shape[0] is None and other.shape[0] is None):
            fn = {"Add": ops.add, "Subtract": ops.subtract, "Multiply": ops.multiply,
                  "Divide": ops.divide}[cls_name]
            return fn(other, self) if reverse else fn(self, other)
        pair = [other, self] if reverse else [self, other]
        return mark_operation(getattr(layers, cls_name)())(pair)

    def __add__(self, other):
        return self._merge(other, "Add")

    def __radd__(self, other):
        return self._merge(other, "Add", reverse=True)

    def __sub__(self, other):
        return self._merge(other, "Subtract")

    def __rsub__(self, other):
        return self._merge(other, "Subtract", reverse=True)

    def __mul__(self, other):
        return self._merge(other, "Multiply")

    def __rmul__(self, other):
        return self._merge(other, "Multiply", reverse=True)

    def __truediv__(self, other):
        return self._merge(other, "Divide")

    def __rtruediv__(self, other):
        return self._merge(other, "Divide", reverse=True)

    # Comparisons give bool nodes for ks.ops.where (== and != stay identity tests: KerasTensors
    # are kept in lists and dicts); ** takes a number exponent.
    __gt__, __ge__ = _via_ops("greater"), _via_ops("greater_equal")
    __lt__, __le__ = _via_ops("less"), _via_ops("less_equal")
    __pow__ = _via_ops("power")
    __matmul__, __rmatmul__ = _via_ops("matmul"), _via_ops("matmul", reverse=True)

    def __getitem__(self, key):
        """`x[:, 0]`, `x[..., :2]`: basic indexing as a graph node (kerasette/ops/get_item.py)."""
        from ..ops.get_item import GetItemOp

        # Only a weight read (kerasette/ops/weight_read.py) has a known first size: no batch axis.
        return GetItemOp(key, batch_axis=not self.shape or self.shape[0] is None)(self)

    def __neg__(self):
        from .. import ops

        return ops.negative(self)

    def __bool__(self):
        raise TypeError("A symbolic tensor has no value: a model's call() may not branch on data "
                        "values (it is traced once, on symbolic inputs, into a graph)")

    def numpy(self):
        raise TypeError("A symbolic tensor has no value: call the model on data (model(x), "
                        "model.predict(x)) to get numbers")


def is_symbolic(x) -> bool:
    """True for a KerasTensor, or a list / tuple / dict holding one."""
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(isinstance(t, KerasTensor) for t in x)
    if isinstance(x, dict):
        return any(isinstance(t, KerasTensor) for t in x.values())
    return False


def symbolic_call(layer, inputs):
    """Record `layer(inputs)` on KerasTensors: build, infer shapes, return the output KerasTensor(s)."""
    several = isinstance(inputs, (list, tuple))
    tensors = list(inputs) if several else [inputs]
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"Layer '{layer.name}' was called on a mix of symbolic tensors and "
                            f"{type(t).__name__}: every input must come from ks.Input or another "
                            f"layer's output")
    shapes = [t.shape for t in tensors]
    in_shape = list(shapes) if several else shapes[0]
    try:
        layer._maybe_build(in_shape)
        out_shape = layer.compute_output_shape(in_shape)
    except ValueError as e:
        raise ValueError(f"Layer '{layer.name}' cannot take inputs of shape "
                         f"{in_shape}: {e}") from e
    targets = layer.__dict__.get("_target_inputs")
    if targets:  # its call() gives these inputs to a loss as y_true (kerasette/losses/loss_node.py)
        from ..losses.loss_node import check_targets

        for k, loss_name in targets.items():
            check_targets(loss_name, tensors[k])
    multi_output = isinstance(out_shape, list)
    node = Node(layer, tensors, several, multi_output)
    out_shapes = out_shape if multi_output else [out_shape]
    dtype = tensors[0].dtype if tensors[0].dtype.is_floating_point else config.floatx_dtype()
    base = layer.name
    for i, s in enumerate(out_shapes):
        name = base if len(out_shapes) == 1 else f"{base}_{i}"
        node.outputs.append(KerasTensor(s, dtype, node, i, name))
    layer._inbound_nodes.append(node)
    return node.outputs if multi_output else node.outputs[0]


def check_shape(shape, name: str = "shape") -> tuple:
    """A per-sample shape: a tuple of positive ints, None allowed for an unknown size."""
    if not isinstance(shape, (tuple, list)) or not all(
            d is None or isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
            for d in shape):
        raise ValueError(f"Invalid {name}: expected a tuple of positive ints (batch dimension "
                         f"excluded), e.g. (2,), received {shape!r}")
    return tuple(None if d is None else int(d) for d in shape)


def as_dtype(dtype, name: str = "dtype"):
    """A torch dtype from a torch dtype, a NumPy-style name ("float32", "int64") or None (floatx)."""
    if dtype is None:
        return config.floatx_dtype()
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and isinstance(getattr(torch, dtype, None), torch.dtype):
        return getattr(torch, dtype)
    raise ValueError(f"Invalid {name}: expected a dtype such as 'float32' or 'int32', received "
                     f"{dtype!r}")
