"""A loss written as a function of `ks.ops`, Keras's `compile(loss=my_loss)`, traced into a graph.

    def my_loss(y_true, y_pred):
        return ks.ops.mean(ks.ops.square(y_true - y_pred), axis=-1)   # one value per sample

kerasette has no autograd to differentiate Python. The function runs once on symbolic tensors of
the batch's per-sample shapes and dtypes (once more for new ones); the ops it calls record graph nodes,
each with its hand-written backward, and the loss's gradient is a backward pass through that graph
to y_pred. So the function may use only what builds nodes on symbolic tensors: the differentiable
`ks.ops`, `+ - * / ** @`, `x[key]`, comparisons and `ks.ops.where` (a branch per entry, as a Huber
loss needs); the others (`argmax`, `one_hot`) raise a TypeError that lists the ones that work.

As in Keras the function returns per-sample values v (shape (N,) or (N, ...), or one scalar for the
batch), weighted by `sample_weight` and reduced:

    sum_over_batch_size:  L = sum(w v) / v.numel()        dL/dv = w / v.numel()
    sum:                  L = sum(w v)                    dL/dv = w
"""

import torch

from ..graph.executor import Graph
from ..graph.symbolic import KerasTensor
from .base import Loss, _as_tensors


class FunctionLoss(Loss):
    """`fn(y_true, y_pred)` written with ks.ops, as a Loss with a traced backward."""

    def __init__(self, fn, name: str | None = None, reduction="sum_over_batch_size"):
        if not callable(fn):
            raise TypeError(f"Invalid fn: expected a function of (y_true, y_pred), received "
                            f"{type(fn).__name__}")
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn
        self._graphs = {}  # (per-sample shapes and dtypes of y_true, y_pred) -> Graph

    def _per_sample(self, y_true, y_pred):
        """The function's values on this batch, and `backward(dv) -> dL/dy_pred`."""
        y_true, y_pred = _as_tensors(y_true, y_pred)
        if y_true.dim() == 0 or y_pred.dim() == 0 or y_true.shape[0] != y_pred.shape[0]:
            raise ValueError(f"Loss '{self.name}': y_true and y_pred must hold the same number of "
                             f"samples, received shapes {tuple(y_true.shape)} and "
                             f"{tuple(y_pred.shape)}")
        graph = self._graph(tuple(y_true.shape[1:]), y_true.dtype, tuple(y_pred.shape[1:]),
                            y_pred.dtype)
        (values,), backward = graph.forward([y_true, y_pred], False, graph.plan(input_grads=True))
        if values.dim() and values.shape[0] != y_pred.shape[0]:
            raise ValueError(f"Loss '{self.name}' returned shape {tuple(values.shape)} for "
                             f"{y_pred.shape[0]} samples: return one value per sample (shape (N,) "
                             f"or (N, ...)) or one scalar for the batch")
        return values, lambda dv: backward([dv])[1]

    def trace_for(self, y_true, y_pred_shape, dtype) -> None:
        """Trace now for targets like `y_true` (a sample of them) and predictions of shape
        `y_pred_shape` (batch axis first) and `dtype`: the model does this before its first step."""
        self._graph(tuple(y_true.shape[1:]), y_true.dtype, tuple(y_pred_shape[1:]), dtype)

    def _graph(self, *key) -> Graph:
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._graphs[key] = self._trace(key)
        return graph

    def _trace(self, key):
        from ..layers.core import InputLayer

        true_shape, true_dtype, pred_shape, pred_dtype = key
        y_true = InputLayer(true_shape, dtype=true_dtype, name=f"{self.name}_y_true").output
        y_pred = InputLayer(pred_shape, dtype=pred_dtype, name=f"{self.name}_y_pred").output
        try:
            out = self.fn(y_true, y_pred)
        except (TypeError, AttributeError) as e:
            if "symbolic" in str(e):
                raise
            raise TypeError(f"Loss function '{self.name}' could not be traced on symbolic "
                            f"y_true / y_pred ({type(e).__name__}: {e}): it runs once on symbolic "
                            f"tensors, so it may use only ks.ops with a gradient (ks.ops.mean(x), "
                            f"not x.mean()), + - * / ** @ and x[key], not torch functions or "
                            f"branches on values") from e
        if not isinstance(out, KerasTensor):
            raise TypeError(f"Loss function '{self.name}' must return ks.ops of y_true and y_pred, "
                            f"received {type(out).__name__}")
        return Graph([y_true, y_pred], [out])

    def _sample_weights(self, sample_weight, values):
        """Sample weights shaped to multiply `values` (None stays None)."""
        if sample_weight is None:
            return None
        w = torch.as_tensor(sample_weight, dtype=values.dtype, device=values.device)
        if w.dim() == 0:
            return w
        n = values.shape[0] if values.dim() else None
        if values.dim() == 0 or w.numel() != n:
            raise ValueError(f"Invalid sample_weight: expected a scalar or one weight per sample "
                             f"({n}), received shape {tuple(w.shape)} for loss '{self.name}', whose "
                             f"values have shape {tuple(values.shape)}")
        return w.reshape((n,) + (1,) * (values.dim() - 1))

    def forward(self, y_true, y_pred, sample_weight=None):
        self._check_trainable_reduction()
        values, backward = self._per_sample(y_true, y_pred)
        w = self._sample_weights(sample_weight, values)
        scale = 1.0 / max(values.numel(), 1) if self.reduction == "sum_over_batch_size" else 1.0
        weighted = values if w is None else values * w
        dv = torch.full_like(values, scale) if w is None else (w * scale).expand_as(values).clone()
        return weighted.sum() * scale, lambda: backward(dv)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.reduction is None or self.reduction == "none":
            values, _ = self._per_sample(y_true, y_pred)
            w = self._sample_weights(sample_weight, values)
            return values if w is None else values * w
        return self.forward(y_true, y_pred, sample_weight)[0]

    def get_config(self) -> dict:
        from ..saving import get_registered_name

        return {"name": self.name, "reduction": self.reduction,
                "function": get_registered_name(self.fn)}

    @classmethod
    def from_config(cls, config: dict):
        from ..saving import find_custom

        config = dict(config)
        name = config.pop("function", None)
        fn = find_custom(name)
        if not callable(fn):
            raise ValueError(f"Unknown loss function {name!r}: pass custom_objects={{{name!r}: "
                             f"the function}} to load_model, or register it with "
                             f"@ks.saving.register_keras_serializable()")
        return cls(fn, **config)
