"""What `explain` returns: a row per graph node (`LayerReport`) and the whole step
(`Explanation`), shown as a text table with each layer's formulas, an HTML page or a picture."""

import html

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
