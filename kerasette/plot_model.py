"""`ks.utils.plot_model(model, to_file)`: draw a model's layer graph (Keras 3's name and arguments).

    ks.utils.plot_model(model, "model.png", show_shapes=True, show_layer_activations=True)

One box per layer, an arrow for each tensor a layer reads from another (a layer used twice, or a
tensor read by two layers, shows as several arrows), for Sequential, functional and subclassed
models alike (they all run on one graph). The picture is made by Graphviz's `dot` program when it
is on the PATH (as Keras does, but from DOT text written here: no pydot needed), else by a plain
matplotlib drawing of the same boxes and arrows in layers from the inputs down. The file's
extension picks the format (png, svg, pdf; png when none).
"""

import os
import shutil
import subprocess

ENGINES = ("auto", "graphviz", "matplotlib")


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, splines="ortho",
               engine="auto", **kwargs):
    """Write a picture of `model`'s layer graph to `to_file` and return its path.

    Keras 3's arguments. `expand_nested=True` draws a nested model's layers inside it (a dashed
    cluster with Graphviz; the boxes only with matplotlib) instead of one box.
    `engine` (kerasette's): "auto" (Graphviz's `dot` if on the PATH, else matplotlib),
    "graphviz" or "matplotlib".
    """
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: plot_model does not take "
                         f"{sorted(kwargs)}")
    if not getattr(model, "built", False) or getattr(model, "_graph", None) is None:
        raise ValueError(f"Invalid model: '{getattr(model, 'name', model)}' is not built yet; "
                         f"start it with ks.Input(shape=...) or call it on data first")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"Invalid rankdir: expected 'TB', 'LR', 'BT' or 'RL', received "
                         f"{rankdir!r}")
    if engine not in ENGINES:
        raise ValueError(f"Invalid engine: expected one of {ENGINES}, received {engine!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"Invalid dpi: expected a positive number, received {dpi!r}")
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1][1:].lower() or "png"
    boxes, edges, clusters = layer_graph(model, show_shapes, show_dtype, show_layer_names,
                                         show_layer_activations, show_trainable,
                                         bool(expand_nested))
    dot = shutil.which("dot")
    if engine == "graphviz" and dot is None:
        raise ImportError("plot_model(engine='graphviz') needs Graphviz's dot program on the PATH "
                          "(apt-get install graphviz, brew install graphviz, ...)")
    if engine == "graphviz" or engine == "auto" and dot is not None:
        source = dot_source(model.name, boxes, edges, rankdir, dpi, splines, clusters)
        subprocess.run([dot, f"-T{ext}", "-o", to_file], input=source.encode(), check=True,
                       capture_output=True)
    else:
        _draw(boxes, edges, to_file, rankdir, dpi)
    return to_file


def layer_graph(model, show_shapes=False, show_dtype=False, show_layer_names=False,
                show_layer_activations=False, show_trainable=False, expand_nested=False):
    """(boxes, edges, clusters): boxes is a list of (id, label lines) in graph order, edges
    (from, to) ids, clusters (nested model name, [box ids]) for the models `expand_nested` opened."""
    producer, boxes, edges, index, clusters = {}, [], [], {}, []

    def add_box(layer, ins, outs, members):
        if id(layer) in index:
            return index[id(layer)]
        index[id(layer)] = key = f"n{len(boxes)}"
        cls = type(layer).__name__
        lines = [f"{layer.name} ({cls})" if show_layer_names else cls]
        act = getattr(getattr(layer, "activation", None), "name", None)
        if show_layer_activations and act is not None:
            lines.append(f"Activation: {act}")
        if show_shapes:
            if ins:
                lines.append(f"Input shape: {_shapes(ins)}")
            lines.append(f"Output shape: {_shapes(outs)}")
        if show_dtype:
            lines.append(f"Output dtype: {str(outs[0].dtype).replace('torch.', '')}")
        if show_trainable:
            lines.append(f"Trainable: {bool(getattr(layer, 'trainable', False))}")
        boxes.append((key, lines))
        members.append(key)
        return key

    def link(sources, key):
        for src in sources:
            if src is not None and (src, key) not in edges:
                edges.append((src, key))

    def add_graph(graph, sources, members):
        """Boxes of `graph`; `sources[i]`: the outer box feeding its input i (None at the top).
        Returns the box producing each of its outputs."""
        for t, src in zip(graph.inputs, sources):
            producer[id(t)] = key = add_box(t.node.layer, [], [t], members)
            link([src], key)
        for node in graph.nodes:
            inner = getattr(node.layer, "_graph", None)
            feeding = [producer.get(id(t)) for t in node.inputs]
            if expand_nested and inner is not None:
                cluster = []
                clusters.append((node.layer.name, cluster))
                outs = add_graph(inner, feeding, cluster)
                for t, key in zip(node.outputs, outs):
                    producer[id(t)] = key
                continue
            key = add_box(node.layer, node.inputs, node.outputs, members)
            link(feeding, key)
            for t in node.outputs:
                producer[id(t)] = key
        return [producer.get(id(t)) for t in graph.outputs]

    top = []
    add_graph(model._graph, [None] * len(model._graph.inputs), top)
    return boxes, edges, clusters


def _shapes(tensors) -> str:
    shapes = [tuple(t.shape) for t in tensors]
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)


def dot_source(name, boxes, edges, rankdir="TB", dpi=200, splines="ortho", clusters=()) -> str:
    """The graph in Graphviz's DOT language (one record-shaped box per layer)."""
    def quote(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = [f"digraph {quote(name)} {{",
           f"  graph [rankdir={rankdir}, dpi={dpi}, splines={splines}, concentrate=true];",
           '  node [shape=box, style="rounded,filled", fillcolor="#e8f0fe", fontname="Helvetica"];']
    for key, lines in boxes:
        label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
        out.append(f'  {key} [label="{label}"];')
    for i, (cluster_name, keys) in enumerate(clusters):
        out.append(f"  subgraph cluster_{i} {{ label={quote(cluster_name)}; style=dashed; "
                   f"{' '.join(keys)}; }}")
    for a, b in edges:
        out.append(f"  {a} -> {b};")
    out.append("}")
    return "\n".join(out) + "\n"


def _draw(boxes, edges, to_file, rankdir, dpi) -> None:
    """matplotlib drawing: boxes in ranks by longest path from an input, arrows between them."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rank = {key: 0 for key, _ in boxes}
    for _ in boxes:  # longest path; edges follow graph order, so len(boxes) passes suffice
        for a, b in edges:
            rank[b] = max(rank[b], rank[a] + 1)
    ranks = {}
    for key, _ in boxes:
        ranks.setdefault(rank[key], []).append(key)
    labels = dict(boxes)
    width = max(max(len(line) for line in lines) for _, lines in boxes) * 0.11 + 0.4
    height = max(len(lines) for _, lines in boxes) * 0.22 + 0.25
    gap_x, gap_y = width + 0.5, height + 0.6
    vertical = rankdir in ("TB", "BT")
    pos = {}
    for r, keys in ranks.items():
        for i, key in enumerate(keys):
            offset = (i - (len(keys) - 1) / 2)
            along = r if rankdir in ("TB", "LR") else len(ranks) - 1 - r
            pos[key] = (offset * gap_x, -along * gap_y) if vertical else \
                (along * gap_x, -offset * gap_y)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    fig_w = (max(xs) - min(xs)) + width + 0.6
    fig_h = (max(ys) - min(ys)) + height + 0.6
    skips = any(rank[b] - rank[a] > 1 for a, b in edges)
    room = 0.9 if skips else 0.0  # the arcs of skip connections bulge out on one side
    if vertical:
        fig_w += room
    else:
        fig_h += room
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=min(dpi, 200))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(min(xs) - width / 2 - 0.3, max(xs) + width / 2 + 0.3 + (room if vertical else 0))
    ax.set_ylim(min(ys) - height / 2 - 0.3 - (0 if vertical else room), max(ys) + height / 2 + 0.3)
    ax.axis("off")
    for a, b in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        if rank[b] - rank[a] > 1:  # a skip connection: around the boxes in between, on the side
            if vertical:
                start, end = (x0 + width / 2, y0), (x1 + width / 2, y1)
            else:
                start, end = (x0, y0 - height / 2), (x1, y1 - height / 2)
            ax.annotate("", xy=end, xytext=start, arrowprops=dict(
                arrowstyle="-|>", color="#555", lw=1.2, connectionstyle="arc3,rad=-0.35"
                if (y1 < y0 if vertical else x1 > x0) else "arc3,rad=0.35"))
            continue
        if vertical:
            y0, y1 = y0 - height / 2 * _sign(y0 - y1), y1 + height / 2 * _sign(y0 - y1)
        else:
            x0, x1 = x0 + width / 2 * _sign(x1 - x0), x1 - width / 2 * _sign(x1 - x0)
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color="#555", lw=1.2))
    for key, (x, y) in pos.items():
        ax.add_patch(matplotlib.patches.FancyBboxPatch(
            (x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor="#e8f0fe", edgecolor="#4a6fa5", lw=1.2))
        ax.text(x, y, "\n".join(labels[key]), ha="center", va="center", fontsize=9,
                family="DejaVu Sans")
    fig.savefig(to_file, facecolor="white")
    plt.close(fig)


def _sign(v) -> float:
    return 1.0 if v >= 0 else -1.0
