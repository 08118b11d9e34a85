"""examples/gradient_tour.py: every layer and loss passes, and a wrong backward makes it fail."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

from kerasette import layers, losses

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gradient_tour.py"


def load_tour():
    spec = importlib.util.spec_from_file_location("gradient_tour", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_layer_and_loss_passes(capsys):
    tour = load_tour()
    assert tour.main() == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    for name in ["Dense", "ReLU", "LeakyReLU", "ELU", "Tanh", "Sigmoid", "Softmax", "GELU",
                 "Softplus", "Dropout", "Flatten"]:
        assert name in out
    for name in losses.__all__:
        obj = getattr(losses, name)
        if isinstance(obj, type) and issubclass(obj, losses.Loss) and obj is not losses.Loss:
            assert name in out
    assert "CategoricalCrossentropy(from_logits=True)" in out
    assert "CategoricalCrossentropy(from_logits=False)" in out


def test_a_wrong_backward_fails_the_tour(capsys):
    tour = load_tour()

    class Doubled(layers.Layer):
        def forward(self, x, training=False):
            return x, lambda dy: 2 * dy   # wrong: the identity's dx is dy

    bad = tour.Case("Doubled", "dx = 2 dy (wrong)", Doubled(), torch.randn(2, 3))
    good = tour.Case("ReLU", "dx = dy * [x > 0]", layers.ReLU(), torch.randn(2, 3))
    assert tour.main([good, bad]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("Doubled") and line.endswith("FAIL") for line in lines)
    assert any(line.startswith("ReLU") and line.endswith("PASS") for line in lines)


def test_runs_as_a_script():
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
