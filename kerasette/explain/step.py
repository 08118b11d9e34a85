"""`explain`: one training step run the way the trainer runs it, measured node by node (see the
package docstring), with every weight, gradient, optimizer state and random generator restored."""

import copy
import math

import torch

from ..testing import check_gradients
from .docstrings import formulas
from .report import CHECK_TOLERANCE, Explanation, LayerReport


def explain(model, x, y, sample_weight=None, check_rows: int = 4, check: bool = True,
            max_check_entries: int = 20000) -> Explanation:
    """Take one training step of `model` on (x, y) apart, layer by layer (see module doc).

    Args:
        model: a compiled kerasette model (Sequential, functional or subclassed).
        x, y, sample_weight: one batch, as `train_on_batch` takes it.
        check_rows: how many rows of each layer's actual input the gradient check uses.
        check: False skips the gradient checks.
        max_check_entries: a layer whose checked input and weights have more entries than this is
            not checked (two forward passes per entry).
    """
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError("Invalid model: explain needs a compiled model (call model.compile("
                         "optimizer=..., loss=...) first)")
    if isinstance(check_rows, bool) or not isinstance(check_rows, int) or check_rows < 1:
        raise ValueError(f"Invalid check_rows: expected a positive int, received {check_rows!r}")
    xt, yt, swt = model._prepare_xy(x, y, sample_weight)
    graph = model._graph
    fused = bool(model._fused)
    steps = model._plan(fused)
    if steps.masked:
        raise ValueError(f"Invalid model: explain does not yet follow Keras masks, and model "
                         f"'{model.name}' has a mask-making layer (Embedding(mask_zero=True) or "
                         f"Masking); explain a copy built without it")
    weights = model.weights
    saved_values = [w.value.clone() for w in weights]
    saved_grads = [w.grad.clone() for w in weights]
    saved_rng = model.get_rng_state()
    try:
        report = _walk(model, graph, steps, xt, yt, swt, fused)
        _update_ratios(model, report)
    finally:
        for w, v, g in zip(weights, saved_values, saved_grads):
            w.value.copy_(v)
            w.grad.copy_(g)
        model.set_rng_state(saved_rng)
    if check:
        for row, layer, inputs in report.pending_checks:
            _check(row, layer, inputs, check_rows, max_check_entries)
    return report


def _walk(model, graph, steps, xt, yt, swt, fused):
    """Forward and backward over the graph as the trainer's step runs them (same plan, same fused
    loss, same penalties), keeping what the rows show."""
    from ..graph.executor import forward_logits

    xs = list(xt) if isinstance(xt, tuple) else [xt]
    values = [None] * len(graph.ids)
    for i, x in zip(graph.input_ids, xs):
        values[i] = x
    rows, backs, inputs_of = [], [], []
    for s in steps:
        x = [values[i] for i in s.ins] if s.several else values[s.ins[0]]
        layer = s.layer
        y, back = forward_logits(layer, x, True) if s.logits else layer.forward(x, True)
        outs = list(y) if s.multi_output else [y]
        for o, v in zip(s.outs, outs):
            values[o] = v
        fwd, bwd = formulas(layer)
        shape = [tuple(v.shape) for v in outs] if s.multi_output else tuple(y.shape)
        row = LayerReport(layer.name, type(layer).__name__, shape, fwd, bwd)
        _unit_stats(row, layer, layer.activation.forward(y)[0] if s.logits else y)
        if s.logits:
            row.note = f"(the final {layer.activation.name} is fused into the loss's gradient: " \
                       f"|dL/dy| is the gradient of the logits)"
        rows.append(row)
        backs.append(back)
        inputs_of.append(x)
    outs = [values[i] for i in graph.output_ids]
    several = getattr(model, "_multi_output", False) or len(outs) > 1
    value, dloss = model._train_loss.forward(yt, outs if several else outs[0], swt)
    model.optimizer.zero_grad()
    grads = [None] * len(graph.ids)
    d = dloss()
    for i, dy in zip(graph.output_ids, d if several else [d]):
        if dy is not None:
            grads[i] = dy if grads[i] is None else grads[i] + dy
    for s, back, row in zip(reversed(steps), reversed(backs), reversed(rows)):
        dy = [grads[o] for o in s.outs] if s.multi_output else grads[s.outs[0]]
        present = [t for t in (dy if s.multi_output else [dy]) if t is not None]
        if not present:
            continue
        row.dy_norm = _norm(present)
        if not s.backward:
            continue
        if s.several:
            for i, dx, need in zip(s.ins, back(dy), s.need_dx):
                if need and dx is not None:
                    grads[i] = dx if grads[i] is None else grads[i] + dx
        elif s.need_dx[0]:
            i = s.ins[0]
            dx = back(dy)
            grads[i] = dx if grads[i] is None else grads[i] + dx
        elif getattr(s.layer, "skips_input_grad", False):
            back(dy, need_dx=False)
        else:
            back(dy)
    if getattr(model, "_regularized", None) or getattr(model, "_loss_layers", None):
        value = model._penalties(value)  # regularizers and add_loss, as the trainer adds them
    by_layer = set()
    for s, row in zip(steps, rows):
        trainable = s.layer.trainable_weights
        if trainable and id(s.layer) not in by_layer:
            by_layer.add(id(s.layer))
            row.dw_norm = _norm([w.grad for w in trainable])
            row.weight_norm = _norm([w.value for w in trainable])
    acts = getattr(model, "_output_acts", {}) or {}
    fused_names = ", ".join(sorted({a.name for a in acts.values()})) if fused else None
    loss_name = getattr(model.loss, "name", None) if not several else "total loss"
    report = Explanation(model.name, int(xs[0].shape[0]), loss_name or "loss", float(value),
                         fused_names, rows)
    report.pending_checks = [(row, s.layer, x) for s, row, x in zip(steps, rows, inputs_of)]
    report._layers = [(s.layer, row) for s, row in zip(steps, rows)]
    return report


def _update_ratios(model, report) -> None:
    """The compiled optimizer's next update on the gradients now in the buffer, on a copy."""
    opt = model.optimizer
    if getattr(opt, "buffer", None) is None:
        return
    twin = copy.deepcopy(opt)
    twin.step()
    after = {id(w): t for w, t in zip(opt._weights, twin._weights)}
    done = set()
    for layer, row in report._layers:
        trainable = layer.trainable_weights
        if not trainable or id(layer) in done or any(id(w) not in after for w in trainable):
            continue
        done.add(id(layer))
        delta = _norm([after[id(w)].value - w.value for w in trainable])
        row.update_ratio = delta / max(row.weight_norm, torch.finfo(torch.float64).tiny)


def _unit_stats(row, layer, y) -> None:
    name = getattr(getattr(layer, "activation", None), "name", None)
    if name not in ("relu", "sigmoid", "tanh") or not isinstance(y, torch.Tensor):
        return
    row.activation = name
    if name == "relu":
        alive = (y.reshape(-1, y.shape[-1]) > 0).any(0)
        row.unit_fraction = 1.0 - float(alive.double().mean())
    elif name == "sigmoid":
        row.unit_fraction = float(((y < 0.01) | (y > 0.99)).double().mean())
    else:
        row.unit_fraction = float((y.abs() > 0.99).double().mean())


def _check(row, layer, inputs, rows: int, max_entries: int) -> None:
    """check_gradients on the layer with the first `rows` rows of its actual input."""
    if not layer.trainable_weights and not _has_math(layer):
        return
    xs = [t[:rows] for t in inputs] if isinstance(inputs, list) else inputs[:rows]
    entries = sum(t.numel() for t in (xs if isinstance(xs, list) else [xs]))
    entries += sum(w.numel() for w in layer.trainable_weights)
    if entries > max_entries:
        row.note = (row.note + f" gradient check skipped: {entries} entries > "
                    f"max_check_entries={max_entries}").strip()
        return
    try:
        row.check_errors = check_gradients(layer, xs)
    except (TypeError, ValueError, NotImplementedError, RuntimeError) as e:
        row.note = (row.note + f" gradient check not run: {e}").strip()
        return
    if row.check_max >= CHECK_TOLERANCE and _has_ties(xs):
        # e.g. max pooling over a ReLU's zeros: the function has a kink exactly there, where
        # central differences are not the derivative, so the check says nothing either way
        row.check_at_kink = True
        row.note = (row.note + " KINK: the input has tied values (zeros from a ReLU, equal "
                    "entries), where max-like layers are not differentiable; finite differences "
                    "do not apply").strip()


def _has_ties(xs) -> bool:
    for t in xs if isinstance(xs, list) else [xs]:
        if t.is_floating_point() and torch.unique(t).numel() < t.numel():
            return True
    return False


def _has_math(layer) -> bool:
    """Layers worth checking without weights: those that compute (activations, merges, pooling),
    not the InputLayer."""
    return type(layer).__name__ != "InputLayer"


def _norm(tensors) -> float:
    return math.sqrt(sum(float(t.detach().double().square().sum()) for t in tensors))
