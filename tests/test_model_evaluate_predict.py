"""predict (batched, NumPy in -> NumPy out, tensor in -> tensor out), evaluate with steps, and the
single-batch calls predict_on_batch / test_on_batch."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def mlp(seed=0, compile=True):
    ks.utils.set_random_seed(seed)
    model = ks.Sequential([ks.Input((3,)), Dense(5, activation="relu"),
                           Dense(2, activation="softmax")])
    if compile:
        model.compile(ks.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def manual_forward(model, x):
    w1, b1, w2, b2 = model.get_weights()
    z = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


class PredictCounter(ks.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.sizes = []

    def on_predict_batch_end(self, batch, logs=None):
        self.sizes.append(logs["outputs"].shape[0])


X = np.random.default_rng(0).normal(size=(10, 3))
Y = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1])


# ----- predict ---------------------------------------------------------------------------------------
def test_predict_equals_the_manual_forward():
    model = mlp()
    np.testing.assert_allclose(model.predict(X, verbose=0), manual_forward(model, X),
                               rtol=1e-12, atol=1e-15)


def test_predict_without_compile():
    model = mlp(compile=False)
    assert model.predict(X, verbose=0).shape == (10, 2)


@pytest.mark.parametrize("batch_size, sizes", [(None, [10]), (3, [3, 3, 3, 1]), (10, [10]),
                                               (1, [1] * 10)])
def test_predict_is_batched_and_batching_does_not_change_results(batch_size, sizes):
    model = mlp()
    counter = PredictCounter()
    out = model.predict(X, batch_size=batch_size, callbacks=[counter], verbose=0)
    assert counter.sizes == sizes
    np.testing.assert_allclose(out, manual_forward(model, X), rtol=1e-12, atol=1e-15)


def test_predict_steps_limits_the_batches():
    model = mlp()
    out = model.predict(X, batch_size=4, steps=2, verbose=0)
    assert out.shape == (8, 2)
    np.testing.assert_allclose(out, model.predict(X[:8], verbose=0), rtol=1e-15)


def test_numpy_in_numpy_out():
    model = mlp()
    out = model.predict(X, verbose=0)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert isinstance(model.predict(X.tolist(), verbose=0), np.ndarray)
    assert isinstance(model.predict(X.astype(np.float32), verbose=0), np.ndarray)


def test_tensor_in_tensor_out():
    model = mlp()
    x = torch.as_tensor(X)
    out = model.predict(x, verbose=0)
    assert isinstance(out, torch.Tensor)
    assert out.device == x.device and out.dtype == torch.float64
    assert not out.requires_grad
    torch.testing.assert_close(out, torch.as_tensor(model.predict(X, verbose=0)))


def test_float32_tensor_is_computed_in_the_model_dtype():
    model = mlp()
    out = model.predict(torch.as_tensor(X, dtype=torch.float32), verbose=0)
    assert out.dtype == torch.float64


def test_predict_on_a_tensor_that_requires_grad():
    """The input's autograd graph is left alone: the output is a plain tensor."""
    model = mlp()
    x = torch.as_tensor(X).requires_grad_()
    out = model.predict(x, verbose=0)
    assert not out.requires_grad and out.grad_fn is None


def test_predict_changes_nothing():
    model = mlp()
    model.fit(X, Y, epochs=1, verbose=0)
    before, it = model.get_weights(), model.optimizer.iterations
    grads = model.optimizer.buffer.grads.clone()
    model.predict(X, verbose=0)
    model.predict_on_batch(X)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == it
    assert torch.equal(model.optimizer.buffer.grads, grads)


def test_autograd_still_works_after_fit_and_predict():
    model = mlp()
    model.fit(X, Y, epochs=1, verbose=0)
    model.predict(X, verbose=0)
    assert torch.is_grad_enabled()
    a = torch.ones(2, requires_grad=True)
    (a * a).sum().backward()
    assert torch.equal(a.grad, torch.full((2,), 2.0))


def test_predict_on_batch():
    model = mlp()
    out = model.predict_on_batch(X)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, model.predict(X, verbose=0), rtol=1e-15)
    t = model.predict_on_batch(torch.as_tensor(X[:3]))
    assert isinstance(t, torch.Tensor) and t.shape == (3, 2)


def test_predict_on_batch_is_one_batch(monkeypatch):
    model = mlp()
    calls = []
    forward = model._forward
    monkeypatch.setattr(model, "_forward", lambda x, *a: calls.append(len(x)) or forward(x, *a))
    big = np.tile(X, (5, 1))  # 50 samples: more than the default batch size
    assert model.predict_on_batch(big).shape == (50, 2)
    assert calls == [50]


# ----- evaluate and test_on_batch ---------------------------------------------------------------
def expected_logs(model, x, y):
    p = manual_forward(model, x)
    return -np.mean(np.log(p[np.arange(len(y)), y])), np.mean(p.argmax(1) == y)


def test_evaluate_values_by_hand():
    model = mlp()
    loss, acc = model.evaluate(X, Y, batch_size=3, verbose=0)
    want_loss, want_acc = expected_logs(model, X, Y)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert acc == pytest.approx(want_acc)


def test_evaluate_steps_uses_the_first_batches():
    model = mlp()
    loss, acc = model.evaluate(X, Y, batch_size=3, steps=2, verbose=0)
    want_loss, want_acc = expected_logs(model, X[:6], Y[:6])
    assert loss == pytest.approx(want_loss, rel=1e-12) and acc == pytest.approx(want_acc)


def test_evaluate_changes_nothing():
    model = mlp()
    before = model.get_weights()
    model.evaluate(X, Y, verbose=0)
    model.test_on_batch(X, Y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == 0


def test_test_on_batch_equals_evaluate_on_that_batch():
    model = mlp()
    assert model.test_on_batch(X, Y) == pytest.approx(model.evaluate(X, Y, batch_size=10,
                                                                     verbose=0))
    logs = model.test_on_batch(X, Y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert (logs["loss"], logs["accuracy"]) == pytest.approx(expected_logs(model, X, Y))


def test_test_on_batch_metrics_are_per_call():
    """Each single-batch call reports that batch only (metrics are reset, not accumulated)."""
    model = mlp()
    first = model.test_on_batch(X[:5], Y[:5], return_dict=True)
    second = model.test_on_batch(X[5:], Y[5:], return_dict=True)
    assert second["accuracy"] == pytest.approx(expected_logs(model, X[5:], Y[5:])[1])
    assert first["accuracy"] == pytest.approx(expected_logs(model, X[:5], Y[:5])[1])


def test_train_on_batch_reports_the_batch_before_the_update():
    model = mlp()
    want = expected_logs(model, X, Y)
    loss, acc = model.train_on_batch(X, Y)
    assert (loss, acc) == pytest.approx(want)
    assert model.optimizer.iterations == 1


def test_evaluate_accepts_tensors_and_integer_labels_of_any_width():
    model = mlp()
    ref = model.evaluate(X, Y, verbose=0)
    for y in (torch.as_tensor(Y), torch.as_tensor(Y, dtype=torch.int32), Y[:, None]):
        assert model.evaluate(torch.as_tensor(X), y, verbose=0) == pytest.approx(ref, rel=1e-15)


def test_steps_beyond_the_data_do_not_wrap_around():
    model = mlp()
    counter = PredictCounter()
    out = model.predict(X, batch_size=4, steps=10, callbacks=[counter], verbose=0)
    assert out.shape == X.shape[:1] + (2,) and counter.sizes == [4, 4, 2]
    assert model.evaluate(X, Y, batch_size=4, steps=10, verbose=0) == \
        pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-12)


def test_validation_steps_restart_from_the_first_batch_each_epoch():
    model = mlp()
    model.compile(ks.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    history = model.fit(X, Y, epochs=3, validation_data=(X, Y), validation_batch_size=4,
                        validation_steps=1, verbose=0)
    first_batch = model.evaluate(X[:4], Y[:4], verbose=0)
    assert history.history["val_loss"] == [pytest.approx(first_batch, rel=1e-12)] * 3
