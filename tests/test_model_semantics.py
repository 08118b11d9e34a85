"""Keras 3 facts (DESIGN.md §1) as exact numbers: loss reduction with sample weights, the epoch
average of batch losses, `metrics` vs `weighted_metrics`, and what evaluate returns."""

import numpy as np
import pytest

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def constant_model(metrics=None, weighted_metrics=None, loss="mse"):
    """y_pred = 0 for every input, and it stays 0 (lr = 0): the errors are exactly -y."""
    model = ks.Sequential([ks.Input((1,)), Dense(1, kernel_initializer="zeros")])
    model.compile(ks.optimizers.SGD(0.0), loss, metrics=metrics, weighted_metrics=weighted_metrics)
    return model


X4 = np.zeros((4, 1))
Y4 = np.array([1.0, 1.0, 3.0, 3.0])   # errors 1, 1, 3, 3
W4 = np.array([1.0, 1.0, 0.0, 0.0])


# ----- loss with sample weights: sum(w * l) / batch size ------------------------------------------
def test_weighted_loss_is_sum_over_batch_size():
    model = constant_model()
    loss = model.evaluate(X4, np.ones(4), sample_weight=W4, verbose=0)
    assert loss == pytest.approx(0.5, abs=1e-15)   # (1 + 1 + 0 + 0) / 4, not a weighted mean (1.0)


def test_weighted_loss_in_fit_and_single_batch_calls():
    model = constant_model()
    history = model.fit(X4, np.ones(4), sample_weight=W4, batch_size=4, verbose=0)
    assert history.history["loss"] == [pytest.approx(0.5, abs=1e-15)]
    assert model.test_on_batch(X4, np.ones(4), sample_weight=W4) == pytest.approx(0.5, abs=1e-15)
    assert model.train_on_batch(X4, np.ones(4), sample_weight=W4) == pytest.approx(0.5, abs=1e-15)


def test_weighted_binary_crossentropy_matches_the_formula():
    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((2,)), Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    rng = np.random.default_rng(0)
    x, y, w = rng.normal(size=(7, 2)), rng.integers(0, 2, 7).astype(float), rng.uniform(0, 2, 7)
    p = model.predict(x, verbose=0)[:, 0]
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    value = model.evaluate(x, y, sample_weight=w, batch_size=7, verbose=0)
    assert value == pytest.approx(np.sum(w * per_sample) / 7, rel=1e-12)


# ----- the epoch's loss: batch losses weighted by batch size --------------------------------------
def test_epoch_loss_weights_batches_by_their_size():
    x5, y5 = np.zeros((5, 1)), np.array([1.0, 2.0, 3.0, 4.0, 10.0])  # batches of 2, 2, 1
    model = constant_model()
    history = model.fit(x5, y5, batch_size=2, shuffle=False, verbose=0)
    full_mean = np.mean(y5 ** 2)
    mean_of_batch_means = np.mean([np.mean(y5[:2] ** 2), np.mean(y5[2:4] ** 2), y5[4] ** 2])
    assert history.history["loss"] == [pytest.approx(full_mean, rel=1e-15)]
    assert full_mean != pytest.approx(mean_of_batch_means)  # the test tells the two apart


def test_epoch_loss_with_sample_weights_is_sum_wl_over_n():
    x5, y5 = np.zeros((5, 1)), np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    w5 = np.array([0.5, 2.0, 0.0, 1.0, 3.0])
    model = constant_model()
    history = model.fit(x5, y5, sample_weight=w5, batch_size=2, shuffle=False, verbose=0)
    assert history.history["loss"] == [pytest.approx(np.sum(w5 * y5 ** 2) / 5, rel=1e-15)]
    value = model.evaluate(x5, y5, sample_weight=w5, batch_size=2, verbose=0)
    assert value == pytest.approx(np.sum(w5 * y5 ** 2) / 5, rel=1e-15)


def test_evaluate_does_not_depend_on_the_batch_size():
    ks.utils.set_random_seed(1)
    model = ks.Sequential([ks.Input((3,)), Dense(4, activation="relu"), Dense(2)])
    model.compile("sgd", "mae", metrics=["mse"])
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(11, 3)), rng.normal(size=(11, 2))
    results = [model.evaluate(x, y, batch_size=b, verbose=0) for b in (1, 3, 4, 11, 32)]
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], rtol=1e-12)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(results[0], [np.mean(np.abs(pred - y)), np.mean((pred - y) ** 2)],
                               rtol=1e-12)


# ----- metrics vs weighted_metrics ------------------------------------------------------------------
def test_metrics_ignore_weights_weighted_metrics_use_them():
    model = constant_model(metrics=["mae"], weighted_metrics=["mse"])
    logs = model.evaluate(X4, Y4, sample_weight=W4, verbose=0, return_dict=True)
    assert logs == {"loss": pytest.approx(0.5), "mae": pytest.approx(2.0), "mse": pytest.approx(1.0)}


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4])
def test_metric_facts_hold_across_batches_in_fit(batch_size):
    model = constant_model(metrics=["mae"], weighted_metrics=["mse"])
    history = model.fit(X4, Y4, sample_weight=W4, batch_size=batch_size, shuffle=False,
                        validation_data=(X4, Y4, W4), verbose=0)
    h = {k: v[0] for k, v in history.history.items()}
    assert h == {"loss": pytest.approx(0.5), "mae": pytest.approx(2.0), "mse": pytest.approx(1.0),
                 "val_loss": pytest.approx(0.5), "val_mae": pytest.approx(2.0),
                 "val_mse": pytest.approx(1.0)}


def test_single_batch_calls_follow_the_metric_facts():
    model = constant_model(metrics=["mae"], weighted_metrics=["mse"])
    expected = {"loss": pytest.approx(0.5), "mae": pytest.approx(2.0), "mse": pytest.approx(1.0)}
    assert model.test_on_batch(X4, Y4, sample_weight=W4, return_dict=True) == expected
    assert model.train_on_batch(X4, Y4, sample_weight=W4, return_dict=True) == expected


def test_same_metric_in_both_lists_gets_distinct_names():
    model = constant_model(metrics=["mse"], weighted_metrics=["mse"])
    logs = model.evaluate(X4, Y4, sample_weight=W4, verbose=0, return_dict=True)
    assert len(logs) == 3
    assert sorted(logs.values()) == [pytest.approx(0.5), pytest.approx(1.0), pytest.approx(5.0)]
    assert logs["mse"] == pytest.approx(5.0)  # the unweighted one keeps the plain name


def test_class_weight_weights_the_loss_and_weighted_metrics_only():
    model = constant_model(metrics=["mae"], weighted_metrics=["mse"])
    y = np.array([0.0, 0.0, 1.0, 1.0])   # binary labels read as classes for class_weight
    history = model.fit(X4, y, class_weight={0: 1.0, 1: 3.0}, batch_size=4, verbose=0)
    h = {k: v[0] for k, v in history.history.items()}
    assert h["loss"] == pytest.approx((0 + 0 + 3 + 3) / 4)
    assert h["mae"] == pytest.approx(0.5)
    assert h["mse"] == pytest.approx((3 + 3) / (1 + 1 + 3 + 3))


# ----- epoch metrics stream over all samples ------------------------------------------------------
def test_epoch_accuracy_counts_samples_not_batches():
    ks.utils.set_random_seed(2)
    model = ks.Sequential([ks.Input((2,)), Dense(3, activation="softmax")])
    model.compile(ks.optimizers.SGD(0.0), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(7, 2)), rng.integers(0, 3, 7)
    history = model.fit(x, y, batch_size=3, shuffle=False, verbose=0)
    correct = model.predict(x, verbose=0).argmax(1) == y
    assert history.history["accuracy"] == [pytest.approx(correct.mean())]


@pytest.mark.parametrize("out, act, loss, labels, rule", [
    (1, "sigmoid", "binary_crossentropy", "binary", "p > 0.5"),
    (3, "softmax", "sparse_categorical_crossentropy", "sparse", "argmax == y"),
    (3, "softmax", "categorical_crossentropy", "onehot", "argmax == argmax"),
])
def test_accuracy_picks_its_kind_from_the_loss_and_shapes(out, act, loss, labels, rule):
    ks.utils.set_random_seed(3)
    model = ks.Sequential([ks.Input((2,)), Dense(out, activation=act)])
    model.compile("sgd", loss, metrics=["accuracy"])
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 2))
    classes = rng.integers(0, 2 if out == 1 else 3, 30)
    y = {"binary": classes.astype(float), "sparse": classes, "onehot": np.eye(3)[classes]}[labels]
    p = model.predict(x, verbose=0)
    hits = (p[:, 0] > 0.5) == classes if out == 1 else p.argmax(1) == classes
    _, acc = model.evaluate(x, y, verbose=0)
    assert acc == pytest.approx(hits.mean())


def test_fused_softmax_crossentropy_value_equals_the_plain_formula():
    ks.utils.set_random_seed(4)
    model = ks.Sequential([ks.Input((2,)), Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(9, 2)), np.eye(3)[rng.integers(0, 3, 9)]
    p = model.predict(x, verbose=0)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(-np.mean(np.sum(y * np.log(p), 1)),
                                                            rel=1e-12)


# ----- what evaluate returns ------------------------------------------------------------------------
def test_evaluate_returns_a_scalar_without_metrics():
    model = constant_model()
    value = model.evaluate(X4, Y4, verbose=0)
    assert isinstance(value, float)
    assert value == pytest.approx(np.mean(Y4 ** 2))


def test_evaluate_returns_loss_then_metrics_in_order():
    model = constant_model(metrics=["mae", "mse"])
    values = model.evaluate(X4, Y4, verbose=0)
    assert isinstance(values, list) and len(values) == 3
    assert values == [pytest.approx(5.0), pytest.approx(2.0), pytest.approx(5.0)]
    assert model.metrics_names == ["loss", "mae", "mse"]


def test_evaluate_return_dict():
    model = constant_model(metrics=["mae"])
    logs = model.evaluate(X4, Y4, verbose=0, return_dict=True)
    assert logs == {"loss": pytest.approx(5.0), "mae": pytest.approx(2.0)}
    assert model.evaluate(X4, Y4, verbose=0, return_dict=True, sample_weight=W4)["loss"] == \
        pytest.approx(0.5)


def test_val_metrics_equal_evaluate_on_the_validation_data():
    ks.utils.set_random_seed(5)
    model = ks.Sequential([ks.Input((2,)), Dense(4, activation="tanh"), Dense(1)])
    model.compile(ks.optimizers.SGD(0.05), "mse", metrics=["mae"])
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    history = model.fit(x, y, epochs=2, batch_size=3, validation_data=(x[:8], y[:8]), verbose=0)
    loss, mae = model.evaluate(x[:8], y[:8], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-12)
    assert history.history["val_mae"][-1] == pytest.approx(mae, rel=1e-12)
