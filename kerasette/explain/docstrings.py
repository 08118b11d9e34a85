"""A layer's forward / backward formulas, read from its docstrings: the two-column block whose
header reads "forward ... backward", and its activation's one-line "y = ...  dx = ..." formula."""

import ast
import inspect
import sys


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
