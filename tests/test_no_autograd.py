"""The library computes every gradient by hand: no autograd, torch.nn, torch.optim or torch.func."""

import pathlib
import re

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "kerasette"
FORBIDDEN = re.compile(
    r"torch\.nn\b|from torch import nn|torch\.optim|torch\.autograd|from torch import autograd"
    r"|requires_grad|torch\.func\b|functorch|\.backward\(\)|torch\.enable_grad|set_grad_enabled"
)


def _code_lines(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        yield number, line


def find_forbidden(root=PACKAGE):
    hits = []
    for path in sorted(root.rglob("*.py")):
        for number, line in _code_lines(path):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return hits


def test_package_has_python_files():
    assert len(list(PACKAGE.rglob("*.py"))) > 10


def test_no_autograd_nn_or_optim_in_package():
    hits = find_forbidden()
    assert not hits, "kerasette/ must compute gradients by hand:\n" + "\n".join(hits)


@pytest.mark.parametrize("line", [
    "import torch.nn as nn", "from torch import nn", "x.requires_grad_(True)",
    "torch.optim.SGD(p)", "loss.backward()", "torch.autograd.grad(y, x)", "from torch.func import grad",
])
def test_the_scan_catches_each_forbidden_form(tmp_path, line):
    (tmp_path / "mod.py").write_text(f"import torch\n{line}\n")
    assert find_forbidden(tmp_path)


def test_importing_kerasette_leaves_autograd_on():
    import torch

    import kerasette  # noqa: F401

    assert torch.is_grad_enabled()
    w = torch.ones(2, requires_grad=True)
    (w * 3).sum().backward()
    assert torch.equal(w.grad, torch.full((2,), 3.0))
