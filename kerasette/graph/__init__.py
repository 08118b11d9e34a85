"""The graph: symbolic tensors, nodes, and the one executor every model runs on.

- `symbolic`: `KerasTensor` (what `ks.Input` and layer calls on it return) and `Node`.
- `executor`: `Graph(inputs, outputs)`, topological order, forward and backward.
- `tracing`: subclassed models and composite layers (`call()` traced into a graph), graphs nested
  in graphs.
"""

from .executor import Graph, GraphError, forward_logits
from .symbolic import KerasTensor, Node, is_symbolic

__all__ = ["Graph", "GraphError", "KerasTensor", "Node", "forward_logits", "is_symbolic"]
