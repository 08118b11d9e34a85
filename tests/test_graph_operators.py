"""Python operators on symbolic tensors build graph nodes, as in Keras: `a + b`, `a - b`, `a * b` with
two symbolic tensors are merge layers; with a constant, or `/` and unary `-`, they are ks.ops layers.
One SGD step through all of them equals torch autograd on the same math (float64)."""

import numpy as np
import pytest
import torch

import kerasette as ks

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def test_operators_record_nodes_and_train_like_autograd():
    x = ks.Input((3,))
    dense, head = ks.layers.Dense(4), ks.layers.Dense(1)
    h = dense(x)
    y = head(2.0 * h + 1.0 - h / 3.0 + (-h) + h * h - (h - 0.5))
    model = ks.Model(x, y)
    kinds = {type(layer).__name__ for layer in model._graph_layers()}
    assert {"Add", "Subtract", "Multiply"} <= kinds  # two symbolic operands: merge layers
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense"]
    model.compile(ks.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    W, b, V, c = (torch.tensor(w, requires_grad=True) for w in model.get_weights())
    model.train_on_batch(xs, ys)
    xt = torch.tensor(xs)
    ht = xt @ W + b
    out = (2.0 * ht + 1.0 - ht / 3.0 + (-ht) + ht * ht - (ht - 0.5)) @ V + c
    ((out - torch.tensor(ys)) ** 2).mean().backward()
    expected = [(t - 0.1 * t.grad).detach().numpy() for t in (W, b, V, c)]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_a_symbolic_tensor_has_no_truth_value():
    with pytest.raises(TypeError, match="may not branch on data values"):
        bool(ks.Input((2,)))
