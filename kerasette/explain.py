"""`ks.utils.explain(model, x, y)`: one training step taken apart, layer by layer.

    report = ks.utils.explain(model, x[:32], y[:32])
    print(report)                  # a text table, then each layer's forward / backward formulas
    report.to_html("step.html")    # the same as an HTML page
    report.to_png("step.png")      # the same as a picture (matplotlib)

For one batch it runs the model's own graph the way a training step does (same fused loss, same
plan of which backward runs) and reports, for every node of the graph:

    output shape      of the layer's output for this batch
    forward/backward  the formulas from the layer's docstring (and its activation's)
    |dL/dy|           norm of the gradient reaching the layer's output (- where nobody needs it:
                      before the first trainable layer)
    |dL/dW|           norm of the layer's weight gradients (all its trainable weights end to end)
    |dW|/|W|          the update the compiled optimizer would apply now, relative to the weights
                      (measured on a copy of the optimizer: nothing of the model changes)
    units             fraction of dead ReLU units (zero for every sample of the batch), or of
                      saturated sigmoid (< 0.01 or > 0.99) / tanh (|y| > 0.99) outputs
    grad check        largest relative error of `kerasette.testing.check_gradients` on that layer
                      with its actual input (the batch's first `check_rows` rows), PASS if < 1e-6;
                      KINK (not a failure) when it is larger and the input has tied values, as a
                      max pooling over a ReLU's zeros does: no derivative there to compare with

Nothing is changed: weights, layer state, gradients, optimizer state and random generators are
all as they were before the call.
"""

import ast
import copy
import html
import inspect
import math
import sys

import torch

from .testing import check_gradients

CHECK_TOLERANCE = 1e-6


class LayerReport:
    """One row of an `Explanation` (attributes as in the module doc; None where not applicable)."""

    def __init__(self, name, class_name, output_shape, forward, backward):
        self.name = name
        self.class_name = class_name
        self.output_shape = output_shape
        self.forward = forward          # list of formula lines
        self.backward = backward
        self.dy_norm = None
        self.dw_norm = None
        self.weight_norm = None
        self.update_ratio = None
        self.activation = None          # "relu", "sigmoid", "tanh" or None
        self.unit_fraction = None       # dead (relu) or saturated (sigmoid/tanh) fraction
        self.check_errors = None        # {"input": err, "<weight>": err}, or None if skipped
        self.check_at_kink = False      # failed where the input has ties: not a valid check
        self.note = ""

    @property
    def check_max(self):
        return None if not self.check_errors else max(self.check_errors.values())

    @property
    def check_passed(self):
        """True / False, or None when not run or not valid (an input with ties, see _check)."""
        m = self.check_max
        if m is None or m >= CHECK_TOLERANCE and self.check_at_kink:
            return None
        return m < CHECK_TOLERANCE

    def cells(self) -> list:
        units = "-" if self.unit_fraction is None else \
            f"{self.activation} {'dead' if self.activation == 'relu' else 'sat.'} " \
            f"{100 * self.unit_fraction:.0f}%"
        verdict = {True: "PASS", False: "FAIL", None: "KINK"}[self.check_passed]
        check = "-" if self.check_max is None else f"{self.check_max:.1e} {verdict}"
        return [f"{self.name} ({self.class_name})", str(self.output_shape), _num(self.dy_norm),
                _num(self.dw_norm), _num(self.update_ratio), units, check]


HEADERS = ["layer", "output shape", "|dL/dy|", "|dL/dW|", "|dW|/|W|", "units", "grad check"]


class Explanation:
    """What `explain` returns: `rows` (LayerReport per graph node), `loss` (the batch's loss),
    `str()` a text table, `to_html(path)`, `to_png(path)`."""

    def __init__(self, model_name, batch, loss_name, loss, fused, rows):
        self.model_name = model_name
        self.batch = batch
        self.loss_name = loss_name
        self.loss = loss
        self.fused = fused
        self.rows = rows

    @property
    def passed(self) -> bool:
        """True when every gradient check that ran passed."""
        return all(r.check_passed is not False for r in self.rows)

    def title(self) -> str:
        fused = f" ({self.fused} fused into the loss's gradient)" if self.fused else ""
        return (f"One training step of model '{self.model_name}' on a batch of {self.batch}: "
                f"{self.loss_name} = {self.loss:.6g}{fused}")

    def table_lines(self) -> list:
        cells = [HEADERS] + [r.cells() for r in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return lines

    def formula_lines(self) -> list:
        out, seen = [], {}
        for r in self.rows:
            if not r.forward and not r.backward:
                continue
            header = f"{r.name} ({r.class_name}){'  ' + r.note if r.note else ''}"
            key = (tuple(r.forward), tuple(r.backward))
            if key in seen:
                out.append(f"{header}: as {seen[key]}")
                continue
            seen[key] = r.name
            out.append(header)
            width = max([len("forward")] + [len(f) for f in r.forward])
            out.append(f"    {'forward'.ljust(width)}    backward (dy = dL/dy)")
            for i in range(max(len(r.forward), len(r.backward))):
                f = r.forward[i] if i < len(r.forward) else ""
                b = r.backward[i] if i < len(r.backward) else ""
                out.append(f"    {f.ljust(width)}    {b}".rstrip())
        return out

    def __str__(self) -> str:
        return "\n".join([self.title(), ""] + self.table_lines() + ["", "Formulas", ""]
                         + self.formula_lines())

    def __repr__(self):
        return f"<Explanation of '{self.model_name}': {len(self.rows)} layers, loss {self.loss:.4g}>"

    def to_html(self, path=None) -> str:
        """An HTML page (returned, and written to `path` if given)."""
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in HEADERS + ["forward", "backward"])
        body = []
        for r in self.rows:
            cells = "".join(f"<td>{esc(c)}</td>" for c in r.cells())
            cells += f"<td><pre>{esc(chr(10).join(r.forward))}</pre></td>"
            cells += f"<td><pre>{esc(chr(10).join(r.backward))}</pre></td>"
            cls = ' class="fail"' if r.check_passed is False else ""
            body.append(f"<tr{cls}>{cells}</tr>")
        page = (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>kerasette explain</title>"
            "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
            "pre{margin:0;font-size:90%}tr.fail{background:#fdd}</style></head><body>"
            f"<h2>{esc(self.title())}</h2><table><tr>{head}</tr>{''.join(body)}</table>"
            "</body></html>\n")
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
        return page

    def _repr_html_(self):
        return self.to_html()

    def to_png(self, path, dpi: int = 110) -> None:
        """The text report drawn in a monospace font (needs matplotlib)."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        text = str(self)
        lines = text.splitlines()
        width = max(len(line) for line in lines)
        fig = plt.figure(figsize=(0.085 * width + 0.4, 0.19 * len(lines) + 0.4), dpi=dpi)
        fig.text(0.01, 0.99, text, family="monospace", fontsize=9, va="top", ha="left")
        fig.savefig(path, facecolor="white", bbox_inches="tight", pad_inches=0.15)
        plt.close(fig)


def _num(v) -> str:
    return "-" if v is None else f"{v:.3e}"


# ----- formulas from docstrings ------------------------------------------------------------------
def formulas(layer) -> tuple:
    """(forward lines, backward lines) from the layer's docstrings: the two-column block whose
    header reads "forward ... backward" (class docstring first, then its module's), plus the
    layer's activation function's one-line formulas ("y = ...  dx = ..."). Falls back to the
    first line of the class docstring."""
    fwd, bwd = [], []
    module = sys.modules.get(type(layer).__module__)
    for doc in (inspect.getdoc(type(layer)), _module_doc(module)):
        block = _two_columns(doc or "")
        if block:
            fwd, bwd = block
            break
    act = getattr(layer, "activation", None)
    if act is not None and getattr(act, "name", "linear") != "linear":
        f, b = _activation_formula(act)
        if f:
            fwd, bwd = fwd + [f"{act.name}: {f}"], bwd + [b]
    if not fwd:
        first = (inspect.getdoc(type(layer)) or "").strip().splitlines()
        fwd = [first[0]] if first else []
        bwd = bwd or ["(see the layer's backward)"]
    return fwd, bwd


def _module_doc(module):
    if module is None:
        return None
    doc = getattr(module, "__doc__", None)
    if doc is None:
        try:
            doc = ast.get_docstring(ast.parse(inspect.getsource(module)))
        except (OSError, TypeError):
            return None
    return inspect.cleandoc(doc)


def _two_columns(doc: str):
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        low = line.lower()
        f, b = low.find("forward"), low.find("backward")
        if f < 0 or b <= f or line[f + 7:b].strip() or b - (f + 7) < 2:
            continue
        fwd, bwd = [], []
        for row in lines[i + 1:]:
            if not row.strip():
                break
            fwd.append(row[f:b].strip())
            bwd.append(row[b:].strip())
        while fwd and not fwd[-1] and not bwd[-1]:
            fwd.pop(), bwd.pop()
        if fwd:
            return [x for x in fwd], [x for x in bwd]
    return None


def _activation_formula(act) -> tuple:
    doc = inspect.getdoc(type(act)) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    at = first.find(" dx =")
    if at < 0:
        return first, ""
    return first[:at].strip().rstrip("."), first[at:].strip().rstrip(".")


# ----- the step ----------------------------------------------------------------------------------
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
    from .graph.executor import forward_logits

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
