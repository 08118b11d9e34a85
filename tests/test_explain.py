"""ks.utils.explain: one training step taken apart, on the seeds' disk network; its numbers equal a
real step's (flat gradient buffer, applied update), its gradient checks pass, nothing changes."""

import math

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.explain import Explanation, formulas


def disk_data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g)
    y = ((x - 0.5).pow(2).sum(1) < 1 / (2 * math.pi)).float()[:, None]
    return (x - 0.5) * 2, y


def disk_net(seed=0):
    """examples/disk.py's network: 2-25-25-25-1, ReLU, sigmoid output, binary cross-entropy."""
    ks.utils.set_random_seed(seed)
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(25, activation="relu"),
                           ks.layers.Dense(25, activation="relu"),
                           ks.layers.Dense(25, activation="relu"),
                           ks.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=ks.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


class FlatGrads(ks.callbacks.Callback):
    """The flat gradient buffer of the first step, as the optimizer is about to apply it."""

    def on_backward_end(self, batch, logs=None):
        if batch == 0:
            self.grads = self.model.optimizer.buffer.grads.clone()


def per_layer(model, flat):
    """Norm of each layer's slice of a flat tensor laid out like the optimizer's buffer."""
    owner = {id(w): layer.name for layer in model.layers for w in layer.weights}
    sq = {}
    for w, a, b in model.optimizer.buffer.slices():
        sq[owner[id(w)]] = sq.get(owner[id(w)], 0.0) + float(flat[a:b].double().square().sum())
    return {k: math.sqrt(v) for k, v in sq.items()}


def test_disk_network_table_matches_a_real_training_step():
    x, y = disk_data()
    model = disk_net()
    weights = model.get_weights()
    report = ks.utils.explain(model, x[:32], y[:32])

    # nothing changed: weights, optimizer state
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert model.optimizer.iterations == 0
    assert all(float(s.abs().sum()) == 0 for s in model.optimizer._slots.values())

    # every layer's gradient check passes
    assert [r.name for r in report.rows] == [layer.name for layer in model.layers]
    assert report.passed
    assert all(r.check_max is not None and r.check_max < 1e-6 for r in report.rows)

    # the same step for real: its gradients (flat buffer) and its update
    spy = FlatGrads()
    params_before = model.optimizer.buffer.params.clone()
    history = model.fit(x[:32], y[:32], epochs=1, batch_size=32, shuffle=False, verbose=0,
                        callbacks=[spy])
    np.testing.assert_allclose(report.loss, history.history["loss"][0], rtol=1e-6)
    grad_norms = per_layer(model, spy.grads)
    update = per_layer(model, model.optimizer.buffer.params - params_before)
    size = per_layer(model, params_before)
    for r in report.rows:
        np.testing.assert_allclose(r.dw_norm, grad_norms[r.name], rtol=1e-5)
        np.testing.assert_allclose(r.update_ratio, update[r.name] / size[r.name], rtol=1e-4)
        assert r.dy_norm > 0


def test_dead_relu_and_saturation_fractions():
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(4, activation="relu"),
                           ks.layers.Dense(3, activation="tanh"), ks.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    W = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]], dtype="float32")
    model.layers[0].set_weights([W, np.array([0, 0, -100, 0], dtype="float32")])  # unit 2 dead
    model.layers[1].set_weights([np.full((4, 3), 50.0, "float32"), np.zeros(3, "float32")])
    x = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]], dtype="float32")
    report = ks.utils.explain(model, x, np.zeros((3, 1), "float32"), check=False)
    relu, tanh, linear = report.rows
    assert relu.activation == "relu" and relu.unit_fraction == pytest.approx(0.25)
    assert tanh.activation == "tanh" and tanh.unit_fraction == pytest.approx(1.0)
    assert linear.unit_fraction is None and linear.check_errors is None


def test_functional_graph_with_a_residual_and_dropout_changes_nothing():
    ks.utils.set_random_seed(1)
    inputs = ks.Input((3,))
    h = ks.layers.Dense(4, activation="tanh")(inputs)
    h = ks.layers.Add()([h, ks.layers.Dense(4)(h)])
    h = ks.layers.Dropout(0.5, seed=3)(h)
    model = ks.Model(inputs, ks.layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.RandomState(0).randn(8, 3).astype("float32")
    y = np.ones((8, 1), "float32")
    rng = {k: v.clone() for k, v in model.get_rng_state().items()}
    report = ks.utils.explain(model, x, y)
    assert [r.class_name for r in report.rows] == ["Dense", "Dense", "Add", "Dropout", "Dense"]
    assert report.passed
    assert all(torch.equal(rng[k], v) for k, v in model.get_rng_state().items())
    add = report.rows[2]
    assert add.dw_norm is None and add.dy_norm > 0 and add.check_errors is not None


def test_text_html_and_png(tmp_path):
    x, y = disk_data(16)
    report = ks.utils.explain(disk_net(), x, y, check_rows=2)
    assert isinstance(report, Explanation)
    text = str(report)
    for word in ("|dL/dy|", "|dL/dW|", "|dW|/|W|", "PASS", "z = x @ W + b", "dW += x^T @ dz",
                 "relu: y = max(x, 0)", "sigmoid"):
        assert word in text
    page = report.to_html(tmp_path / "step.html")
    assert (tmp_path / "step.html").read_text().startswith("<!DOCTYPE html>") and "<table>" in page
    pytest.importorskip("matplotlib")
    report.to_png(tmp_path / "step.png")
    assert (tmp_path / "step.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_formulas_come_from_docstrings():
    fwd, bwd = formulas(ks.layers.Dense(2, activation="tanh"))
    assert fwd[0] == "z = x @ W + b" and bwd[0].startswith("dz = act'(z) * dy")
    assert fwd[-1] == "tanh: y = tanh(x)" and bwd[-1] == "dx = dy * (1 - y^2)"
    fwd, bwd = formulas(ks.layers.ReLU())
    assert fwd[-1] == "relu: y = max(x, 0)"


def test_bad_arguments():
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(1)])
    x, y = np.zeros((2, 2), "float32"), np.zeros((2, 1), "float32")
    with pytest.raises(ValueError, match="compile"):
        ks.utils.explain(model, x, y)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="check_rows"):
        ks.utils.explain(model, x, y, check_rows=0)
    with pytest.raises(ValueError, match="x"):
        ks.utils.explain(model, np.zeros((2, 3), "float32"), y)


def test_two_outputs_and_a_regularizer_match_a_real_step():
    ks.utils.set_random_seed(2)
    inputs = ks.Input((3,))
    h = ks.layers.Dense(5, activation="tanh", kernel_regularizer=ks.regularizers.L2(0.1))(inputs)
    model = ks.Model(inputs, {"price": ks.layers.Dense(1)(h),
                              "label": ks.layers.Dense(1, activation="sigmoid")(h)})
    model.compile(optimizer="sgd", loss={"price": "mse", "label": "binary_crossentropy"},
                  loss_weights={"price": 1.0, "label": 0.5})
    rs = np.random.RandomState(0)
    x = rs.randn(16, 3).astype("float32")
    y = {"price": rs.randn(16, 1).astype("float32"),
         "label": (rs.rand(16, 1) > 0.5).astype("float32")}
    report = ks.utils.explain(model, x, y)
    assert report.passed and report.fused == "sigmoid"
    spy = FlatGrads()
    history = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0, callbacks=[spy])
    np.testing.assert_allclose(report.loss, history.history["loss"][0], rtol=1e-6)
    grad_norms = per_layer(model, spy.grads)
    for r in report.rows:
        np.testing.assert_allclose(r.dw_norm, grad_norms[r.name], rtol=1e-5)


def test_conv_pool_and_a_nested_model():
    """Max pooling over a ReLU's zeros is a kink: its check is marked KINK, not FAIL; a nested
    model is one row whose weights are all its layers'."""
    ks.utils.set_random_seed(0)
    L = ks.layers
    conv = ks.Sequential([ks.Input((6, 6, 1)), L.Conv2D(2, 3, activation="relu"),
                          L.MaxPooling2D(), L.Flatten(), L.Dense(2, activation="softmax")])
    conv.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.RandomState(0).randn(6, 6, 6, 1).astype("float32")
    x[:, :3, :3, 0] = -5.0   # many ReLU zeros in the first pooling windows: ties
    report = ks.utils.explain(conv, x, np.array([0, 1, 0, 1, 0, 1]))
    pool = report.rows[1]
    assert pool.check_max > 1e-6 and pool.check_passed is None and pool.check_at_kink
    assert "KINK" in str(report) and report.passed
    assert report.rows[0].check_passed and report.rows[3].check_passed

    inner_in = ks.Input((4,))
    block = ks.Model(inner_in, L.Dense(3, activation="tanh")(inner_in), name="block")
    inputs = ks.Input((2,))
    model = ks.Model(inputs, L.Dense(1)(block(L.Dense(4)(inputs))))
    model.compile(optimizer="adam", loss="mse")
    report = ks.utils.explain(model, np.ones((4, 2), "float32"), np.zeros((4, 1), "float32"))
    assert [r.class_name for r in report.rows] == ["Dense", "Model", "Dense"]
    assert report.passed and report.rows[1].dw_norm > 0 and report.rows[1].update_ratio > 0
