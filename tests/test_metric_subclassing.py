"""Custom metrics written the Keras 3 way (`ks.metrics.Metric` subclasses with `add_variable` /
`add_weight` in `__init__`, `assign_add` in `update_state`, a `result`), on their own and inside
`model.compile(metrics=[...])` + fit / evaluate; and the MetricVariable they are built from."""

import numpy as np
import pytest
import torch

import kerasette as ks


class BinaryTruePositives(ks.metrics.Metric):
    """As Keras's guide writes it ("Writing your own metrics"), with torch ops for ops.*."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = torch.as_tensor(y_true).bool()
        y_pred = torch.as_tensor(y_pred) > 0.5
        values = (y_true & y_pred).to(self.dtype)
        if sample_weight is not None:
            sample_weight = torch.as_tensor(sample_weight, dtype=self.dtype)
            values = values * sample_weight.reshape(-1, *[1] * (values.dim() - 1))
        self.true_positives.assign_add(values.sum())

    def result(self):
        return self.true_positives


class WeightedMeanError(ks.metrics.Metric):
    """Two variables via add_weight (Keras 2 spelling), arithmetic on variables in result."""

    def __init__(self, name="weighted_mean_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_weight(name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        error = (torch.as_tensor(y_pred) - torch.as_tensor(y_true)).abs().flatten(1).mean(1)
        self.total.assign_add(error.sum())
        self.count.assign_add(error.shape[0])

    def result(self):
        return self.total / self.count


def _data(n=48):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, :1] - x[:, 1:2] > 0).astype(np.float32)
    return x, y


def _model():
    ks.utils.set_random_seed(1)
    return ks.Sequential([ks.Input((3,)), ks.layers.Dense(6, activation="relu"),
                          ks.layers.Dense(1, activation="sigmoid")])


def test_guide_metric_alone():
    m = BinaryTruePositives()
    y, p = torch.tensor([[1.0], [1.0], [0.0], [1.0]]), torch.tensor([[0.9], [0.2], [0.8], [0.7]])
    assert m(y, p).item() == 2.0
    m.update_state(y, p, sample_weight=torch.tensor([1.0, 1.0, 1.0, 3.0]))
    assert m.result().item() == 6.0
    assert [v.name for v in m.variables] == ["tp"] and m.true_positives.numpy() == 6.0
    r = m.result()
    m.update_state(y, p)
    assert r.item() == 6.0  # result() returned a copy of the variable, not the variable
    m.reset_state()
    assert m.result().item() == 0.0 and float(m.true_positives) == 0.0


def test_guide_metric_through_fit_and_evaluate():
    x, y = _data()
    model = _model()
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=[BinaryTruePositives(), WeightedMeanError()])
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    for key in ("binary_true_positives", "val_binary_true_positives", "weighted_mean_error",
                "val_weighted_mean_error"):
        assert len(history.history[key]) == 3
    # each epoch's count is over that epoch's training samples only (reset between epochs)
    assert all(0 <= v <= 36 for v in history.history["binary_true_positives"])
    logs = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    assert logs["binary_true_positives"] == float(((pred > 0.5) & (y == 1)).sum())
    assert logs["weighted_mean_error"] == pytest.approx(float(np.abs(pred - y).mean()), rel=1e-5)
    loss, tp, error = model.evaluate(x, y, verbose=0)
    assert tp == logs["binary_true_positives"]


def test_metric_class_and_weighted_metrics_arguments():
    x, y = _data()
    w = np.where(y[:, 0] > 0, 2.0, 1.0)
    model = _model()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[BinaryTruePositives],
                  weighted_metrics=[BinaryTruePositives(name="wtp")])
    model.fit(x, y, epochs=1, verbose=0)
    logs = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    hits = ((pred > 0.5) & (y == 1))[:, 0]
    assert logs["binary_true_positives"] == float(hits.sum())
    assert logs["wtp"] == float((hits * w).sum())


def test_variables_follow_the_initializer_and_their_data():
    class Counter(ks.metrics.Metric):
        def __init__(self):
            super().__init__(name="counter")
            self.hits = self.add_variable(shape=(3,), initializer="ones", name="hits")
            self.steps = self.add_variable(shape=(), initializer="zeros", dtype="int64")

        def update_state(self, values):
            self.hits.assign_add(values)
            self.steps.assign_add(1)

        def result(self):
            return torch.sqrt(self.hits).sum() + self.steps

    c = Counter()
    c.update_state(torch.tensor([3.0, 8.0, 15.0]))
    assert c.result().item() == pytest.approx(2 + 3 + 4 + 1)
    assert c.steps.dtype == torch.int64 and c.hits.shape == (3,)
    np.testing.assert_array_equal(np.asarray(c.hits), [4.0, 9.0, 16.0])
    c.hits.assign([1.0, 1.0, 1.0])
    c.hits.assign_sub(torch.tensor([1.0, 0.0, 0.0]))
    assert c.hits.numpy().tolist() == [0.0, 1.0, 1.0]
    c.reset_state()  # back to the initializers: ones and zeros
    assert c.hits.numpy().tolist() == [1.0, 1.0, 1.0] and int(c.steps) == 0
    assert (c.hits * 2).tolist() == [2.0, 2.0, 2.0] and (1 - c.hits).sum().item() == 0.0
    assert c.hits[1].item() == 1.0 and torch.maximum(c.hits, torch.zeros(3)).sum().item() == 3.0


def test_forgetting_super_init_is_a_clear_error():
    class Broken(ks.metrics.Metric):
        def __init__(self):
            self.total = self.add_variable(shape=(), initializer="zeros")

    with pytest.raises(RuntimeError, match=r"super\(\)\.__init__"):
        Broken()


def test_bad_variable_arguments():
    m = WeightedMeanError()
    with pytest.raises(ValueError, match="shape"):
        m.add_variable(shape=(-1,), initializer="zeros")
    with pytest.raises(ValueError, match="aggregation"):
        m.add_variable(shape=(), initializer="zeros", aggregation="max")
    with pytest.raises(ValueError, match="dtype"):
        m.add_variable(shape=(), initializer="zeros", dtype="complex64")


def test_metric_dtype_is_floatx_unless_given():
    assert WeightedMeanError().dtype == torch.float32
    m = WeightedMeanError(dtype="float64")
    assert m.dtype == torch.float64 and m.total.dtype == torch.float64
    assert m.get_config() == {"name": "weighted_mean_error", "dtype": "float64"}
