"""Dropout inside a model: active in fit and train_on_batch, inactive in predict, evaluate and
validation; training with dropout is reproducible from one seed."""

import numpy as np
import pytest
import torch
from test_model_fit import Recorder

import kerasette as ks
from kerasette.layers import Dense, Dropout

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4))
Y = RNG.normal(size=(40, 1))


def dropout_net(seed=0, rate=0.5, lr=0.05):
    ks.utils.set_random_seed(seed)
    rec = Recorder()
    model = ks.Sequential([ks.Input((4,)), Dense(16, activation="relu",
                                                 bias_initializer="ones"),
                           Dropout(rate), rec, Dense(1)])
    model.compile(ks.optimizers.SGD(lr), "mse")
    return model, rec


def hidden(model, x):
    w1, b1 = model.get_weights()[:2]
    return np.maximum(x @ w1 + b1, 0)


def test_fit_drops_and_rescales():
    model, rec = dropout_net(lr=0.0)
    model.fit(X, Y, batch_size=40, epochs=1, shuffle=False, verbose=0)
    (training, after), = [s for s in rec.seen if s[0]]
    before = hidden(model, X)
    kept = after.numpy() != 0
    assert training
    assert 0.35 < (~kept[before > 0]).mean() < 0.65   # about half of the units dropped
    np.testing.assert_allclose(after.numpy()[kept], 2.0 * before[kept], rtol=1e-12)


def test_predict_evaluate_and_validation_do_not_drop():
    model, rec = dropout_net(lr=0.0)
    model.fit(X, Y, batch_size=10, epochs=2, validation_data=(X[:8], Y[:8]), verbose=0)
    validation = [x for t, x in rec.seen if not t]
    assert len(validation) == 2
    for x in validation:  # exactly the hidden layer's output: nothing dropped or rescaled
        np.testing.assert_allclose(x.numpy(), hidden(model, X[:8]), rtol=1e-12)
    p1, p2 = model.predict(X, verbose=0), model.predict(X, verbose=0)
    np.testing.assert_array_equal(p1, p2)
    w3, b3 = model.get_weights()[2:]
    np.testing.assert_allclose(p1, hidden(model, X) @ w3 + b3, rtol=1e-12)
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(np.mean((p1 - Y) ** 2), rel=1e-12)
    assert model.history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(X[:8], Y[:8], verbose=0), rel=1e-12)


def test_fit_loss_differs_from_the_no_dropout_loss():
    model, _ = dropout_net(lr=0.0)
    history = model.fit(X, Y, epochs=1, batch_size=40, verbose=0)
    assert history.history["loss"][0] != pytest.approx(model.evaluate(X, Y, verbose=0))


def test_train_on_batch_drops_test_on_batch_does_not():
    model, rec = dropout_net(lr=0.0)
    model.train_on_batch(X, Y)
    model.test_on_batch(X, Y)
    (t1, train_x), (t2, test_x) = rec.seen
    assert t1 and not t2
    h = hidden(model, X)
    assert np.any((train_x.numpy() == 0) & (h > 0))
    np.testing.assert_allclose(test_x.numpy(), h, rtol=1e-12)
    assert model.test_on_batch(X, Y) == pytest.approx(model.evaluate(X, Y, verbose=0))


def test_training_with_dropout_is_reproducible_from_the_seed():
    runs = []
    for seed in (3, 3, 4):
        model, _ = dropout_net(seed)
        torch.manual_seed(seed * 100)  # the global RNG plays no part
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
        runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_dropout_masks_differ_between_batches_and_epochs():
    model, rec = dropout_net(lr=0.0)
    model.fit(X[:8], Y[:8], batch_size=8, epochs=2, shuffle=False, verbose=0)
    (_, a), (_, b) = [s for s in rec.seen if s[0]]
    assert not torch.equal(a == 0, b == 0)


def test_dropout_seed_survives_saving(tmp_path):
    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((4,)), Dense(8), Dropout(0.3, seed=11), Dense(1)])
    model.compile("sgd", "mse")
    model.save(tmp_path / "m")
    loaded = ks.models.load_model(tmp_path / "m")
    layer = loaded.layers[1]
    assert isinstance(layer, Dropout) and layer.rate == 0.3 and layer.seed == 11
    for m in (model, loaded):
        m.fit(X, Y, batch_size=8, shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))
