"""How a functional model's inputs and outputs are given, named and checked: the helpers of
`Model` (model.py) for its constructor, its output names and its input shapes."""

from ..layers.base import Layer


def _flatten_io(value, name: str):
    """A list of symbolic tensors from a tensor, list/tuple or dict; and how it was given."""
    from ..graph import KerasTensor

    if isinstance(value, KerasTensor):
        return [value], "single"
    if isinstance(value, (list, tuple)) and value and all(isinstance(t, KerasTensor) for t in value):
        return list(value), "list"
    if isinstance(value, dict) and value and all(isinstance(t, KerasTensor)
                                                 for t in value.values()):
        return list(value.values()), "dict"
    if isinstance(value, Layer) and type(value).__name__ == "InputLayer":
        return [value.output], "single"
    raise TypeError(f"Invalid {name}: expected a symbolic tensor (from ks.Input or a layer call), "
                    f"or a non-empty list or dict of them, received {type(value).__name__}")


def _unique_names(names: list) -> list:
    seen, out = {}, []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k}")
    return out


def _differs(expected: tuple, received: tuple) -> bool:
    if len(expected) != len(received):
        return True
    return any(e is not None and r is not None and e != r for e, r in zip(expected[1:], received[1:]))


def _producer_name(t) -> str:
    """The name an output is known by: its layer's, looking through the node that reads a traced
    call's add_loss terms beside it (kerasette/ops/loss_term.py)."""
    while t.node is not None and type(t.node.layer).__name__ == "LossTermOp":
        t = t.node.inputs[0]
    return t.node.layer.name if t.node is not None else t.name
