"""Loss heads: where a final sigmoid / softmax meets its cross-entropy, decided from the graph.

For an output y = sigmoid(z) (or softmax(z) over the last axis) trained with a cross-entropy, the
gradient with respect to the logits z is the stable p - y, while going through the activation's own
backward would divide by p (1 - p), which underflows for confident predictions. So when an output
qualifies, its node runs without the activation (`kerasette.graph.forward_logits`), the loss takes
logits (`loss.fused_with(activation)`), and the metrics see p = activation(z).

An output qualifies when the layer producing it has an `activation` attribute named "sigmoid" or
"softmax" (over the last axis) and no other node reads that output. This is the only place that knows
about fusion, for every model kind.
"""


def fusable_activation(graph, k: int):
    """The activation object ending output `k` that a cross-entropy may fuse with, or None."""
    if graph is None:
        return None
    t = graph.outputs[k]
    node = t.node
    if node is None or node.multi_output or not node.inputs:
        return None
    act = getattr(node.layer, "activation", None)
    name = getattr(act, "name", None)
    if name not in ("sigmoid", "softmax"):
        return None
    if name == "softmax" and getattr(act, "axis", -1) not in (-1, len(t.shape) - 1):
        return None  # the cross-entropies fuse a softmax over the last (class) axis only
    readers = sum(1 for n in graph.nodes for i in n.inputs if i is t)
    if readers or sum(1 for o in graph.outputs if o is t) > 1:
        return None  # the probabilities are used elsewhere: keep them
    return act
