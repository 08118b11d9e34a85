"""Several outputs in training: one loss per output, loss weights, metrics per output.

The trainer's loops are written for one loss and one list of metrics. A model with several outputs
plugs into them unchanged through two adapters:

- `MultiLoss` has the loss protocol: `forward(ys, outs, sws) -> (value, backward)` with
      value = sum_k w_k L_k(y_k, out_k, sw_k)        backward() = [w_k dL_k/d out_k for each k]
  (each L_k maybe fused with its output's sigmoid / softmax, see `heads.py`). It keeps the latest
  per-output values for the logs.
- `OutputMetric` feeds one output's labels and predictions to a metric named `<output>_<metric>`;
  `OutputLoss` is the running `<output>_loss` (batch-size-weighted mean of L_k, unweighted by w_k),
  as Keras 3 logs them (names checked with Keras 3.15: `loss`, `price_loss`, `price_mae`, ...).
"""

import numbers

import torch

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from ..losses.function_loss import FunctionLoss
from ..models.arguments import unique_name


class MultiLoss:
    """sum_k w_k L_k over the outputs; `losses[k]` may be None for an output left out of training."""

    def __init__(self, losses: list, weights: list):
        self.losses = losses
        self.weights = weights
        self.last = [None] * len(losses)  # 0-d tensors of the latest forward, per output
        self.name = "loss"

    def forward(self, ys, outs, sws):
        total, grads = None, []
        for k, (loss, w) in enumerate(zip(self.losses, self.weights)):
            if loss is None:
                grads.append(None)
                continue
            value, backward = loss.forward(ys[k], outs[k], None if sws is None else sws[k])
            self.last[k] = value
            term = value if w == 1.0 else value * w
            total = term if total is None else total + term
            grads.append((backward, w))

        def backward():
            return [None if g is None else (g[0]() if g[1] == 1.0 else g[0]() * g[1])
                    for g in grads]
        return total, backward


class AddedLossesOnly:
    """The loss of a model compiled without one and trained by the add_loss terms of its traced
    call() alone (Keras allows it; fit then takes x only): 0 here, the trainer adds the terms,
    and no gradient enters at the outputs (the terms send their own, kerasette/ops/loss_term.py)."""

    def __init__(self, n_outputs: int):
        self.losses = [None] * n_outputs
        self.name = "loss"

    def forward(self, y, out, sw=None):
        zero = (out[0] if isinstance(out, list) else out).new_zeros(())
        n = len(self.losses)
        return zero, (lambda: [None] * n) if n > 1 else (lambda: None)


class ScaledLoss:
    """w * L for a single-output model compiled with `loss_weights` (the loss protocol)."""

    def __init__(self, loss, weight: float):
        self.loss, self.weight = loss, weight
        self.name = getattr(loss, "name", "loss")

    def forward(self, y, out, sw=None):
        value, backward = self.loss.forward(y, out, sw)
        return value * self.weight, lambda: backward() * self.weight


class OutputMetric:
    """A metric of output k, named `<output>_<name>` (the wrapped metric keeps its own state)."""

    def __init__(self, metric, k: int, output_name: str):
        self.metric, self.k = metric, k
        self.name = f"{output_name}_{metric.name}"

    def update_state(self, y, pred, sw=None):
        self.metric.update_state(y[self.k], pred[self.k],
                                 None if sw is None else sw[self.k])

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()


class OutputLoss:
    """The running mean of output k's loss over the samples seen (weighted by batch size)."""

    def __init__(self, multi: MultiLoss, k: int, output_name: str):
        self.multi, self.k = multi, k
        self.name = f"{output_name}_loss"
        self.state = None  # [sum of batch loss x rows, rows], a tensor on the loss's device

    def update_state(self, y, pred, sw=None):
        n = pred[self.k].shape[0]
        value = self.multi.last[self.k]
        if self.state is None:
            self.state = torch.zeros(2, dtype=value.dtype, device=value.device)
        self.state[0] += value * n
        self.state[1] += n

    def result(self):
        if self.state is None:
            return torch.tensor(0.0)
        return self.state[0] / self.state[1].clamp(min=1)

    def reset_state(self):
        if self.state is not None:
            self.state.zero_()

    def state_tensors(self) -> list:
        """Sums, reduced across processes by summing (kerasette.distribution)."""
        return [] if self.state is None else [self.state]


def per_output(value, names: list, arg: str, default=None) -> list:
    """One entry per output from a single value, a list (in output order) or a dict keyed by name."""
    n = len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"Invalid {arg}: keys {unknown} are not output names; the model's "
                             f"outputs are {names}")
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)) and n > 1:
        if len(value) != n:
            raise ValueError(f"Invalid {arg}: expected one entry per output ({n}: {names}), "
                             f"received {len(value)}")
        return list(value)
    return [value] * n


def resolve_losses(loss, names: list) -> list:
    """Loss objects per output: one loss for every output, a list, or a dict by output name (an
    output missing from the dict is not trained, as in Keras)."""
    if isinstance(loss, dict):
        specs = per_output(loss, names, "loss")
    elif isinstance(loss, (list, tuple)) and len(names) > 1:
        specs = per_output(list(loss), names, "loss")
    elif isinstance(loss, (list, tuple)) and len(loss) == 1:
        specs = [loss[0]]
    else:
        specs = [loss] * len(names)
    return [None if s is None else losses_mod.get(s) for s in specs]


def resolve_loss_weights(loss_weights, names: list) -> list:
    if loss_weights is None:
        return [1.0] * len(names)
    if isinstance(loss_weights, numbers.Real) and not isinstance(loss_weights, bool):
        weights = [loss_weights] * len(names)
    elif isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1 and len(names) == 1:
        weights = list(loss_weights)
    elif isinstance(loss_weights, (dict, list, tuple)):
        weights = per_output(loss_weights, names, "loss_weights", default=1.0)
    else:
        raise TypeError(f"Invalid loss_weights: expected a number, a list or a dict by output name, "
                        f"received {type(loss_weights).__name__}")
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not 0 <= w < float("inf"):
            raise ValueError(f"Invalid loss_weights: expected finite numbers >= 0, received "
                             f"{loss_weights!r}")
    return [float(w) for w in weights]


def resolve_metric_ids(metrics, names: list, arg: str) -> list:
    """Metric ids per output: a flat list for a single output; a list of lists or a dict by
    output name for several (a flat list is ambiguous there, and refused as Keras 3 does)."""
    if metrics is None or isinstance(metrics, (list, tuple, dict)) and not metrics:
        return [[] for _ in names]
    if len(names) == 1:
        if isinstance(metrics, dict):
            return [list(_as_ids(metrics.get(names[0], []), arg))]
        return [list(_as_ids(metrics, arg))]
    if isinstance(metrics, dict):
        return [list(_as_ids(v, arg)) if v is not None else []
                for v in per_output(metrics, names, arg, default=None)]
    if isinstance(metrics, (list, tuple)) and len(metrics) == len(names) and all(
            isinstance(m, (list, tuple)) or m is None for m in metrics):
        return [list(m or []) for m in metrics]
    raise ValueError(f"Invalid {arg}: for a model with several outputs {names}, pass a list with "
                     f"one list of metrics per output, or a dict keyed by output name; received "
                     f"{metrics!r}")


def _as_ids(value, arg):
    if isinstance(value, (list, tuple)):
        return value
    return [value]


def concat(parts: list):
    """Batches of outputs joined along the batch axis (lists of outputs joined per output)."""
    if isinstance(parts[0], list):
        return [torch.cat([p[k] for p in parts]) if len(parts) > 1 else parts[0][k]
                for k in range(len(parts[0]))]
    return torch.cat(parts) if len(parts) > 1 else parts[0]


def build_metrics(model, y_sample) -> tuple[list, list]:
    """The compiled metric ids of `model` as metric objects: (plain, weighted), in log order.

    Needs the label and output shapes: `y_sample` is one sample (a tensor, or a tuple of one per
    output). Each metric is tried on that sample, so labels it cannot take fail here, before a
    step. A multi-output model gets its <output>_loss entries first and each metric wrapped per
    output (`OutputMetric`); every log name is distinct, as Keras makes them (`auc`, `auc_1`).
    """
    names = model.output_names
    shapes = model.output_shape if model._multi_output else [model.output_shape]
    ys = y_sample if isinstance(y_sample, tuple) else (y_sample,)
    taken = {"loss"}
    plain, weighted = [], []
    if model._multi_output:  # <output>_loss first, as Keras logs them
        for k, name in enumerate(names):
            if model._train_loss.losses[k] is not None:
                plain.append(OutputLoss(model._train_loss, k, name))
                taken.add(plain[-1].name)
    for k, name in enumerate(names):
        sizes = [ys[k].shape[1 + i] if d is None and ys[k] is not None and ys[k].dim() > 1 + i
                 else d or 1 for i, d in enumerate(shapes[k][1:])]  # None: the labels' size
        pred_sample = torch.zeros((1, *sizes), dtype=model._dtype, device=model._device)
        made = []
        for ident in model._metric_ids[k]:
            made.append((metrics_mod.get(ident, y_true=ys[k], y_pred=pred_sample), False))
        for ident in model._weighted_metric_ids[k]:
            made.append((metrics_mod.get(ident, y_true=ys[k], y_pred=pred_sample), True))
        for m, is_weighted in made:
            if ys[k] is not None:  # labels a metric cannot take fail here, not after a step
                m.update_state(ys[k], pred_sample)
                if torch.as_tensor(m.result()).numel() != 1:
                    raise ValueError(
                        f"Invalid metrics: '{m.name}' gives {torch.as_tensor(m.result()).numel()} "
                        f"values (one per class, e.g. F1Score's default average=None); the logs "
                        f"hold one number per metric: pass average='macro', 'micro' or "
                        f"'weighted'")
                m.reset_state()
            # Every log key distinct, as in Keras: a repeated name gets _1, _2... ("auc",
            # "auc_1"), never overwriting another metric's column, nor the loss.
            if model._multi_output:
                wrapped = OutputMetric(m, k, name)
                if is_weighted and wrapped.name in taken:
                    m.name = "weighted_" + m.name
                    wrapped = OutputMetric(m, k, name)
                wrapped.name = unique_name(wrapped.name, taken)
                (weighted if is_weighted else plain).append(wrapped)
            else:
                if is_weighted and m.name in taken:
                    m.name = "weighted_" + m.name
                m.name = unique_name(m.name, taken)
                (weighted if is_weighted else plain).append(m)
    return plain, weighted


def trace_function_losses(model, y_sample) -> None:
    """Trace the losses written as functions (`compile(loss=my_loss)`) on this sample's
    shapes now, so a function that cannot be traced fails before any forward changes state."""
    train = model._train_loss
    losses = train.losses if isinstance(train, (MultiLoss, AddedLossesOnly)) else [train]
    samples = y_sample if isinstance(y_sample, tuple) else (y_sample,)
    shapes = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
    for loss, y, shape in zip(losses, samples, shapes):
        loss = getattr(loss, "loss", loss)  # inside a ScaledLoss (loss_weights)
        if getattr(loss, "_defines_call", False):  # a Loss subclass with call(y_true, y_pred)
            loss = loss._traced()
        if isinstance(loss, FunctionLoss) and y is not None:
            loss.trace_for(y, shape, model._dtype)
