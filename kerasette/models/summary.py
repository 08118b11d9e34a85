"""`model.summary()`: one row per layer (name, type, output shape, parameters) and the totals, laid
out as Keras 3 prints them.

- Columns: a Sequential or subclassed model, or a functional model whose graph is a plain chain
  (one input, each layer called once on the previous one's output), gets three; any other graph adds
  "Connected to": every tensor the layer reads, written `name[call][output]` (the producing layer,
  which of its calls made the tensor, which of that call's outputs).
- Rows: one per layer, in graph order (a functional model's InputLayers first); a shared layer's row
  lists every call's inputs in call order and the last call's output shape.
- `expand_nested=True` adds a nested model's layers under its row ("└ " per level; their
  connections are inside the nested model, so the column shows "-"); `layer_range=(first, last)`
  keeps the rows from the first layer whose name matches `first` (a regular expression, matched at
  the start of the name) to the last that matches `last`; `show_trainable` adds Y / N ("-" for a
  layer without weights). kerasette also marks a frozen layer's name with "[frozen]".
"""

import re

from ..graph.tracing import defines_call


def summary_lines(model, line_length=None, positions=None, show_trainable=False,
                  expand_nested=False, layer_range=None) -> list[str]:
    entries = _entries(model)
    first, last = _bounds(entries, layer_range)
    connected = not _sequential_like(model)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    if show_trainable:
        header.append("Trainable")
    rows = [header]
    for layer, nodes in entries[first:last]:
        rows += _layer_rows(layer, nodes, connected, show_trainable, expand_nested, 0)
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(header))]
    if positions is not None or line_length is not None:
        widths = _widths(len(header), line_length or sum(widths), positions) or widths
    width = sum(widths)
    lines = [f'Model: "{model.name}"', "=" * width]
    for k, r in enumerate(rows):
        cells = [str(c)[:w - 1].ljust(w) if i != 2 else str(c).rjust(w - 1) + " "
                 for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("".join(cells).rstrip())
        lines.append(("=" if k == 0 else "-") * width)
    trainable = sum(w.numel() for w in model.trainable_weights)
    frozen = sum(w.numel() for w in model.non_trainable_weights)
    lines += [f"Total params: {trainable + frozen:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {frozen:,}"]
    return lines


def _entries(model) -> list:
    """[(layer, its nodes in the model's graph)], one per layer in graph order; a functional
    model's InputLayers first (a Sequential's and a subclassed model's inputs are not rows). As in
    Keras, a subclassed model shows only its layers, a functional one its operations too."""
    from .sequential import Sequential

    graph = model._graph
    own_inputs = isinstance(model, Sequential) or defines_call(model)
    nodes = graph.nodes if own_inputs else [t.node for t in graph.inputs] + graph.nodes
    if defines_call(model):
        nodes = [node for node in nodes if not node.layer.is_operation]
    calls = {}
    for node in nodes:
        calls.setdefault(id(node.layer), (node.layer, []))[1].append(node)
    return list(calls.values())


def _sequential_like(model) -> bool:
    """True when Keras 3 prints no "Connected to": a Sequential or subclassed model, or a functional
    chain (one input, each layer called once, on the previous layer's only output)."""
    from .sequential import Sequential

    if isinstance(model, Sequential) or defines_call(model):
        return True
    graph = model._graph
    if len(graph.inputs) != 1:
        return False
    previous, seen = graph.inputs[0], set()
    for node in graph.nodes:
        if len(node.inputs) != 1 or node.inputs[0] is not previous or len(node.outputs) != 1 \
                or id(node.layer) in seen:
            return False
        seen.add(id(node.layer))
        previous = node.outputs[0]
    return True


def _layer_rows(layer, nodes, connected, show_trainable, expand_nested, level) -> list:
    """The row of `layer` (indented `level` times) and, with `expand_nested`, its nested rows."""
    from .model import Model

    prefix = "   " * level + "└ " if level else ""
    shapes = [t.shape for t in nodes[-1].outputs]
    frozen = "" if layer.trainable or not layer.weights else " [frozen]"
    row = [f"{prefix}{layer.name} ({_type_name(layer)}){frozen}",
           str(shapes[0] if len(shapes) == 1 else shapes), f"{layer.count_params():,}"]
    if connected:
        reads = ", ".join(_source(t) for n in nodes for t in n.inputs) if not level else ""
        row.append(reads or "-")
    if show_trainable:
        row.append("-" if not layer.weights else "Y" if layer.trainable else "N")
    rows = [row]
    if expand_nested and isinstance(layer, Model) and layer.built:
        for inner, inner_nodes in _entries(layer):
            rows += _layer_rows(inner, inner_nodes, connected, show_trainable, True, level + 1)
    return rows


def _type_name(layer) -> str:
    """The Type column; for an operation Keras's name: ks.ops.exp records an "Exp", x[0] a
    "GetItem", ks.ops.matmul a "Matmul"."""
    name = type(layer).__name__
    if not type(layer).is_operation:
        return name
    op = getattr(layer, "op", None)
    if isinstance(op, str):
        return "".join(part.capitalize() for part in op.split("_"))
    return name[:-2] if name.endswith("Op") else name


def _bounds(entries, layer_range) -> tuple:
    """Keras's `layer_range`: from the first layer matching its first pattern to the last one
    matching its second (both kept); all layers for None."""
    if layer_range is None:
        return 0, len(entries)
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2 or not all(
            isinstance(p, str) for p in layer_range):
        raise ValueError(f"Invalid layer_range: expected two layer names (or regular expressions): "
                         f"the first and the last layer to show, received {layer_range!r}")
    names = [layer.name for layer, _ in entries]
    starts = [i for i, n in enumerate(names) if re.match(layer_range[0], n)]
    ends = [i for i, n in enumerate(names) if re.match(layer_range[1], n)]
    if not starts or not ends:
        missing = layer_range[0] if not starts else layer_range[1]
        raise ValueError(f"Invalid layer_range: {missing!r} matches no layer name; the layers are "
                         f"{names}")
    return starts[0], ends[-1] + 1


def _source(t) -> str:
    """Keras's `name[call][output]` for the tensor `t`."""
    node = t.node
    if node is None:
        return f"{t.name or '?'}[0][0]"
    call = next((i for i, n in enumerate(node.layer._inbound_nodes) if n is node), 0)
    return f"{node.layer.name}[{call}][{t.index}]"


def _widths(n: int, line_length: int, positions):
    """Column widths from Keras's `positions` (fractions of line_length, or absolute ends)."""
    if positions is None:
        positions = [0.45, 0.7, 0.85, 1.0][-n:] if n == 4 else [0.45, 0.75, 1.0][:n]
    ends = [int(p * line_length) if p <= 1 else int(p) for p in positions][:n]
    if len(ends) < n:
        return None
    widths, start = [], 0
    for e in ends:
        widths.append(max(e - start, 4))
        start = e
    return widths
