"""`model.summary()`: one row per layer (name, type, output shape, parameters) and the totals.

A Sequential model's table has three columns, as Keras prints it; a functional or subclassed
model's adds "Connected to" (Keras's fourth column): every tensor the layer reads, written as Keras 3
writes it, `name[call][output]` (the producing layer, which of its calls made the tensor, which of
that call's outputs). As in Keras 3 a shared layer has one row: its calls' inputs in call order,
the last call's output shape.
"""

from ..graph.tracing import defines_call


def summary_lines(model, line_length=None, positions=None, show_trainable=False) -> list[str]:
    from .sequential import Sequential

    graph = model._graph
    connected = not isinstance(model, Sequential)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    if show_trainable:
        header.append("Trainable")
    rows = [header]
    inputs = [t.node for t in graph.inputs]
    nodes = graph.nodes if defines_call(model) or not connected else inputs + graph.nodes
    calls = {}  # id(layer) -> its nodes in this graph, in order
    for node in nodes:
        calls.setdefault(id(node.layer), []).append(node)
    for layer_nodes in calls.values():
        layer = layer_nodes[0].layer
        shapes = [t.shape for t in layer_nodes[-1].outputs]
        frozen = "" if layer.trainable or not layer.weights else " [frozen]"
        row = [f"{layer.name} ({type(layer).__name__}){frozen}",
               str(shapes[0] if len(shapes) == 1 else shapes), f"{layer.count_params():,}"]
        if connected:
            row.append(", ".join(_source(t) for n in layer_nodes for t in n.inputs) or "-")
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        rows.append(row)
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
