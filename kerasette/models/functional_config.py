"""A functional model's architecture as plain data, and back (for `save` / `load_model`, `to_json`).

    {"name": "functional", "layers": [{"class_name": "InputLayer", "config": {...}}, ...],
     "nodes": [[layer index, [[node index, output index], ...], several], ...],
     "inputs": [[node, output], ...], "outputs": [[node, output], ...], "output_keys": [...] | None}

Layers are listed once each, in graph order (a shared layer once, used by several nodes); nodes in
topological order, each naming the layer it calls and the tensors it reads, as (node, output)
positions of earlier nodes. Rebuilding calls each layer on the rebuilt symbolic tensors, exactly as
the model was first written, so `from_config(get_config())` is the same graph with fresh weights.
"""

from ..layers import deserialize as deserialize_layer
from ..layers import serialize as serialize_layer


def graph_config(model) -> dict:
    graph = model._graph
    input_nodes = [t.node for t in graph.inputs]
    nodes = input_nodes + [n for n in graph.nodes if n not in input_nodes]
    layers = graph_layers(model)
    layer_index = {id(layer): i for i, layer in enumerate(layers)}
    where = {}
    for i, n in enumerate(nodes):
        for j, t in enumerate(n.outputs):
            where[t] = [i, j]
    structure = model._output_structure
    return {
        "name": model.name,
        "layers": [serialize_layer(layer) for layer in layers],
        "nodes": [[layer_index[id(n.layer)], [where[t] for t in n.inputs], n.several]
                  for n in nodes],
        "inputs": [where[t] for t in graph.inputs],
        "outputs": [where[t] for t in graph.outputs],
        "input_keys": list(model.input_names) if model._input_structure == "dict" else None,
        "output_keys": [str(k) for k in structure] if isinstance(structure, dict) else None,
        "output_list": isinstance(structure, (list, tuple)),
    }


def graph_layers(model) -> list:
    """The model's layers in the order `graph_config` lists them (a shared layer once)."""
    graph = model._graph
    input_nodes = [t.node for t in graph.inputs]
    nodes = input_nodes + [n for n in graph.nodes if n not in input_nodes]
    layers, seen = [], set()
    for n in nodes:
        if id(n.layer) not in seen:
            seen.add(id(n.layer))
            layers.append(n.layer)
    return layers


def from_graph_config(cls, config: dict, layers: list | None = None):
    """A new model of class `cls` rebuilt from `graph_config`'s data (fresh weights). `layers`:
    new layer objects to call instead of deserializing `config["layers"]` (clone_model)."""
    try:
        if layers is None:
            layers = [deserialize_layer(spec) for spec in config["layers"]]
        tensors = []
        for layer_i, refs, several in config["nodes"]:
            layer = layers[layer_i]
            if not refs:  # an InputLayer: its tensor exists since construction
                tensors.append([layer.output])
                continue
            ins = [tensors[i][j] for i, j in refs]
            out = layer(ins if several else ins[0])
            tensors.append(out if isinstance(out, list) else [out])
        inputs = [tensors[i][j] for i, j in config["inputs"]]
        outputs = [tensors[i][j] for i, j in config["outputs"]]
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f"Invalid config: not a functional model's graph ({type(e).__name__}: "
                         f"{e})") from e
    if config.get("input_keys"):
        inputs = dict(zip(config["input_keys"], inputs))
    elif len(inputs) == 1:
        inputs = inputs[0]
    if config.get("output_keys"):
        outputs = dict(zip(config["output_keys"], outputs))
    elif len(outputs) == 1 and not config.get("output_list"):
        outputs = outputs[0]
    return cls(inputs, outputs, name=config.get("name"))
