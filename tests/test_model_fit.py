"""fit: data types, History, epochs, shuffling and seeding, validation, weights, steps, verbosity."""

import warnings

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


class Recorder(ks.layers.Layer):
    """Identity layer that records every batch it sees (and whether it was training)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x, training=False):
        self.seen.append((training, x.clone()))
        return x, lambda dy: dy

    def ids(self, training=True):
        """First feature of each sample seen, per batch (the tests put the sample index there)."""
        return [x[:, 0].round().long().tolist() for t, x in self.seen if t == training]


class BatchLog(ks.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches, self.epochs, self.epoch_logs = 0, [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs))


def indexed_data(n=10, classes=2):
    """x[:, 0] is the sample index (so a Recorder tells which samples a batch holds)."""
    x = np.stack([np.arange(n, dtype=np.float64), np.linspace(-1, 1, n)], axis=1)
    y = np.arange(n) % classes
    return x, y


def recorder_model(out=2, act="softmax", loss="sparse_categorical_crossentropy", lr=0.01,
                   metrics=None):
    rec = Recorder()
    model = ks.Sequential([ks.Input((2,)), rec, Dense(out, activation=act)])
    model.compile(ks.optimizers.SGD(lr), loss, metrics=metrics)
    return model, rec


def classifier(seed=0, out=3, act="softmax", loss="sparse_categorical_crossentropy", lr=0.1):
    ks.utils.set_random_seed(seed)
    model = ks.Sequential([ks.Input((4,)), Dense(5, activation="tanh"), Dense(out, activation=act)])
    model.compile(ks.optimizers.SGD(lr), loss)
    return model


def blobs(n=24, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, 4)) + y[:, None]
    return x, y


def same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


# ----- data types ------------------------------------------------------------------------------------
def test_numpy_and_tensor_data_train_identically():
    x, y = blobs()
    a, b = classifier(), classifier()
    a.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    b.fit(torch.as_tensor(x), torch.as_tensor(y), epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert same(a.get_weights(), b.get_weights())
    assert a.optimizer.iterations == 6


@pytest.mark.parametrize("labels", ["int32", "float", "column", "list"])
def test_label_encodings_for_sparse_crossentropy_agree(labels):
    x, y = blobs()
    ref = classifier()
    ref.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    y2 = {"int32": y.astype(np.int32), "float": y.astype(np.float64), "column": y[:, None],
          "list": y.tolist()}[labels]
    model = classifier()
    model.fit(x, y2, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert same(model.get_weights(), ref.get_weights())


def test_one_hot_with_categorical_equals_integers_with_sparse():
    x, y = blobs()
    sparse = classifier()
    sparse.fit(x, y, epochs=3, batch_size=5, shuffle=False, verbose=0)
    onehot = classifier(loss="categorical_crossentropy")
    onehot.fit(x, np.eye(3)[y], epochs=3, batch_size=5, shuffle=False, verbose=0)
    for u, v in zip(sparse.get_weights(), onehot.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14)


def test_float32_features_in_a_float64_model():
    x, y = blobs()
    a, b = classifier(), classifier()
    a.fit(x.astype(np.float32), y, shuffle=False, verbose=0)
    b.fit(x.astype(np.float32).astype(np.float64), y, shuffle=False, verbose=0)
    assert same(a.get_weights(), b.get_weights())
    assert a.get_weights()[0].dtype == np.float64


def test_integer_features_are_accepted():
    x, y = blobs()
    model = classifier()
    model.fit(np.round(x).astype(np.int64), y, verbose=0)
    assert model.optimizer.iterations == 1


# ----- History -----------------------------------------------------------------------------------
def test_history_keys_are_keras_keys():
    x, y = blobs()
    model = classifier()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["acc", "sparse_categorical_accuracy"])
    history = model.fit(x, y, epochs=3, validation_data=(x[:6], y[:6]), verbose=0)
    assert isinstance(history, ks.callbacks.History)
    assert history is model.history
    assert list(history.history) == ["loss", "acc", "sparse_categorical_accuracy", "val_loss",
                                     "val_acc", "val_sparse_categorical_accuracy"]
    assert all(len(v) == 3 for v in history.history.values())
    assert all(isinstance(v, float) for vs in history.history.values() for v in vs)
    assert history.epoch == [0, 1, 2]


def test_initial_epoch():
    x, y = blobs()
    model = classifier()
    log = BatchLog()
    history = model.fit(x, y, epochs=5, initial_epoch=2, batch_size=8, callbacks=[log], verbose=0)
    assert history.epoch == [2, 3, 4]
    assert log.epochs == [2, 3, 4]
    assert model.optimizer.iterations == 3 * 3
    assert len(history.history["loss"]) == 3


def test_epochs_zero_trains_nothing():
    x, y = blobs()
    model = classifier()
    before = model.get_weights()
    history = model.fit(x, y, epochs=0, verbose=0)
    assert history.epoch == [] and history.history == {}
    assert same(model.get_weights(), before)


def test_loss_decreases_on_an_easy_problem():
    x, y = blobs(60)
    model = classifier(lr=0.3)
    history = model.fit(x, y, epochs=15, batch_size=10, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


# ----- shuffling and seeds --------------------------------------------------------------------------
def test_shuffle_false_keeps_the_order():
    x, y = indexed_data(10)
    model, rec = recorder_model()
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert rec.ids() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] * 2


def test_shuffle_false_is_deterministic():
    x, y = blobs()
    a, b = classifier(), classifier()
    for m in (a, b):
        m.fit(x, y, epochs=3, batch_size=5, shuffle=False, verbose=0)
    assert same(a.get_weights(), b.get_weights())


def test_shuffle_true_permutes_each_epoch_and_sees_every_sample_once():
    x, y = indexed_data(20)
    ks.utils.set_random_seed(3)
    model, rec = recorder_model()
    model.fit(x, y, epochs=3, batch_size=6, verbose=0)
    batches = rec.ids()
    assert [len(b) for b in batches] == [6, 6, 6, 2] * 3
    epochs = [sum(batches[4 * e:4 * e + 4], []) for e in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(20))
    assert epochs[0] != list(range(20))
    assert epochs[0] != epochs[1]


def test_shuffle_is_reproducible_from_set_random_seed():
    x, y = indexed_data(20)
    runs = []
    for seed in (5, 5, 6):
        ks.utils.set_random_seed(seed)
        model, rec = recorder_model()
        model.fit(x, y, epochs=2, batch_size=6, verbose=0)
        runs.append((rec.ids(), model.get_weights()))
    assert runs[0][0] == runs[1][0] and same(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_shuffle_is_not_disturbed_by_torch_manual_seed():
    x, y = indexed_data(20)
    orders = []
    for torch_seed in (0, 1):
        ks.utils.set_random_seed(5)
        model, rec = recorder_model()
        torch.manual_seed(torch_seed)  # the user's own global seeding
        torch.rand(3)
        model.fit(x, y, epochs=1, batch_size=6, verbose=0)
        orders.append(rec.ids())
    assert orders[0] == orders[1]


def test_fit_never_touches_torch_global_rng():
    x, y = blobs()
    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((4,)), Dense(6, activation="relu"), ks.layers.Dropout(0.5),
                           Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    state = torch.random.get_rng_state()
    model.fit(x, y, epochs=2, batch_size=5, validation_split=0.25, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert torch.equal(torch.random.get_rng_state(), state)


# ----- validation ------------------------------------------------------------------------------------
def test_validation_split_takes_the_last_fraction_before_shuffling():
    x, y = indexed_data(10)
    ks.utils.set_random_seed(0)
    model, rec = recorder_model()
    model.fit(x, y, epochs=2, batch_size=3, validation_split=0.3, verbose=0)
    trained = sorted(sum(rec.ids(training=True), []))
    validated = sum(rec.ids(training=False), [])
    assert trained == sorted([0, 1, 2, 3, 4, 5, 6] * 2)
    assert validated == [7, 8, 9] * 2  # and in order


def test_validation_split_val_loss_is_the_tail_loss():
    """With lr = 0 the weights never move: val_loss is the loss of the last samples exactly."""
    x = np.zeros((10, 1))
    y = np.arange(10, dtype=np.float64)
    model = ks.Sequential([ks.Input((1,)), Dense(1, kernel_initializer="zeros")])
    model.compile(ks.optimizers.SGD(0.0), "mse")
    history = model.fit(x, y, validation_split=0.2, epochs=1, verbose=0)
    assert history.history["val_loss"] == [pytest.approx((8**2 + 9**2) / 2)]
    assert history.history["loss"] == [pytest.approx(np.mean(np.arange(8.0) ** 2))]


def test_degenerate_validation_split_warns_for_sorted_labels():
    x, _ = blobs(20, 2)
    y = np.array([0] * 16 + [1] * 4)
    model = classifier(out=2)
    with pytest.warns(UserWarning, match="validation_split"):
        model.fit(x, y, validation_split=0.2, verbose=0)


def test_single_class_validation_slice_warns():
    x, _ = blobs(20, 2)
    y = np.array([0, 1] * 8 + [1] * 4)
    model = classifier(out=1, act="sigmoid", loss="binary_crossentropy")
    with pytest.warns(UserWarning, match="single class"):
        model.fit(x, y, validation_split=0.2, verbose=0)


def test_mixed_validation_split_does_not_warn():
    x, y = blobs(20, 2)
    model = classifier(out=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, validation_split=0.2, verbose=0)


def test_validation_data_pair_and_triple():
    x, y = blobs()
    xv, yv = x[:7] + 0.5, y[:7]
    wv = np.linspace(0.0, 2.0, 7)
    model = classifier()
    h2 = model.fit(x, y, epochs=2, validation_data=(xv, yv), verbose=0)
    assert h2.history["val_loss"][-1] == pytest.approx(model.evaluate(xv, yv, verbose=0), rel=1e-12)
    h3 = model.fit(x, y, epochs=2, validation_data=(xv, yv, wv), verbose=0)
    weighted = model.evaluate(xv, yv, sample_weight=wv, verbose=0)
    assert h3.history["val_loss"][-1] == pytest.approx(weighted, rel=1e-12)
    assert weighted != pytest.approx(model.evaluate(xv, yv, verbose=0))


def test_validation_data_as_a_list_and_tensors():
    x, y = blobs()
    model = classifier()
    h = model.fit(x, y, validation_data=[torch.as_tensor(x[:5]), torch.as_tensor(y[:5])], verbose=0)
    assert len(h.history["val_loss"]) == 1


@pytest.mark.parametrize("freq, validated", [(1, [0, 1, 2, 3, 4]), (2, [1, 3]), (3, [2]),
                                             ([1, 5], [0, 4]), ((2, 3), [1, 2])])
def test_validation_freq(freq, validated):
    x, y = blobs()
    model = classifier()
    log = BatchLog()
    history = model.fit(x, y, epochs=5, validation_data=(x, y), validation_freq=freq,
                        callbacks=[log], verbose=0)
    assert [e for e, logs in enumerate(log.epoch_logs) if "val_loss" in logs] == validated
    assert len(history.history["val_loss"]) == len(validated)
    assert len(history.history["loss"]) == 5


@pytest.mark.parametrize("freq", [0, -1, 1.5, "2", [0], [1, 2.5], True])
def test_bad_validation_freq(freq):
    x, y = blobs()
    model = classifier()
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(x, y, validation_data=(x, y), validation_freq=freq, verbose=0)


# ----- weights of samples and classes ------------------------------------------------------------
def test_class_weight_equals_the_matching_sample_weight():
    x, y = blobs()
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    a, b = classifier(), classifier()
    a.fit(x, y, epochs=2, batch_size=5, class_weight=cw, shuffle=False, verbose=0)
    b.fit(x, y, epochs=2, batch_size=5, sample_weight=np.array([cw[c] for c in y]), shuffle=False,
          verbose=0)
    assert same(a.get_weights(), b.get_weights())


def test_class_weight_multiplies_sample_weight():
    x, y = blobs()
    cw = {0: 2.0, 1: 1.0, 2: 0.0}
    sw = np.linspace(0.5, 1.5, len(y))
    a, b = classifier(), classifier()
    a.fit(x, y, batch_size=6, class_weight=cw, sample_weight=sw, shuffle=False, verbose=0)
    b.fit(x, y, batch_size=6, sample_weight=sw * np.array([cw[c] for c in y]), shuffle=False,
          verbose=0)
    assert same(a.get_weights(), b.get_weights())


def test_class_weight_with_one_hot_and_binary_labels():
    x, y = blobs(24, 2)
    cw = {0: 0.25, 1: 2.0}
    sw = np.array([cw[c] for c in y])
    for loss, out, act, labels in [("categorical_crossentropy", 2, "softmax", np.eye(2)[y]),
                                   ("binary_crossentropy", 1, "sigmoid", y.astype(float))]:
        a = classifier(out=out, act=act, loss=loss)
        b = classifier(out=out, act=act, loss=loss)
        a.fit(x, labels, class_weight=cw, shuffle=False, batch_size=8, verbose=0)
        b.fit(x, labels, sample_weight=sw, shuffle=False, batch_size=8, verbose=0)
        assert same(a.get_weights(), b.get_weights()), loss


def test_class_weight_does_not_weight_the_validation_split():
    """As Keras: class_weight applies to the training batches only."""
    x, y = blobs(20, 2)
    model = classifier(out=2, lr=0.0)
    history = model.fit(x, y, validation_split=0.5, class_weight={0: 5.0, 1: 0.1}, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[10:], y[10:], verbose=0), rel=1e-12)


def test_uniform_sample_weight_scales_the_sgd_step():
    """Loss = sum(w l) / N, so w = 2 everywhere is the same SGD step as twice the learning rate."""
    x, y = blobs()
    a, b = classifier(lr=0.05), classifier(lr=0.1)
    a.fit(x, y, epochs=2, batch_size=7, sample_weight=np.full(len(y), 2.0), shuffle=False,
          verbose=0)
    b.fit(x, y, epochs=2, batch_size=7, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14)


def test_sample_weight_column_vector_is_accepted():
    x, y = blobs()
    a, b = classifier(), classifier()
    w = np.linspace(0, 1, len(y))
    a.fit(x, y, sample_weight=w, shuffle=False, verbose=0)
    b.fit(x, y, sample_weight=w[:, None], shuffle=False, verbose=0)
    assert same(a.get_weights(), b.get_weights())


def test_zero_sample_weights_freeze_a_full_batch():
    x, y = blobs()
    model = classifier()
    before = model.get_weights()
    model.fit(x, y, sample_weight=np.zeros(len(y)), batch_size=len(y), verbose=0)
    assert same(model.get_weights(), before)
    assert model.optimizer.iterations == 1


# ----- steps, batch size, verbosity ----------------------------------------------------------------
def test_steps_per_epoch_continues_the_stream():
    x, y = indexed_data(10)
    model, rec = recorder_model()
    log = BatchLog()
    history = model.fit(x, y, epochs=3, batch_size=4, steps_per_epoch=2, shuffle=False,
                        callbacks=[log], verbose=0)
    assert model.optimizer.iterations == 6 and log.batches == 6
    assert rec.ids() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert history.params["steps"] == 2


def test_steps_per_epoch_longer_than_the_data_wraps_around():
    x, y = indexed_data(5)
    model, rec = recorder_model()
    model.fit(x, y, epochs=1, batch_size=2, steps_per_epoch=5, shuffle=False, verbose=0)
    assert rec.ids() == [[0, 1], [2, 3], [4], [0, 1], [2, 3]]


@pytest.mark.parametrize("n, batch_size, sizes", [(100, None, [32, 32, 32, 4]),
                                                  (10, 3, [3, 3, 3, 1]), (4, 10, [4])])
def test_batch_size_default_is_32(n, batch_size, sizes):
    x, y = indexed_data(n)
    model, rec = recorder_model()
    log = BatchLog()
    model.fit(x, y, batch_size=batch_size, shuffle=False, callbacks=[log], verbose=0)
    assert [len(b) for b in rec.ids()] == sizes
    assert log.batches == len(sizes)


def test_verbose_0_prints_nothing(capsys):
    x, y = blobs()
    model = classifier()
    model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = blobs()
    model = classifier()
    model.fit(x, y, epochs=3, validation_split=0.25, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 3
    assert all("loss" in line and "val_loss" in line for line in lines)


def test_fit_twice_continues_training():
    x, y = blobs()
    a, b = classifier(), classifier()
    a.fit(x, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    b.fit(x, y, epochs=1, batch_size=6, shuffle=False, verbose=0)
    b.fit(x, y, epochs=1, batch_size=6, shuffle=False, verbose=0)
    assert same(a.get_weights(), b.get_weights())


def test_fit_on_tensors_that_require_grad():
    """Features from the user's own autograd code (e.g. a torch encoder) train like plain data."""
    x, y = blobs()
    xt = torch.as_tensor(x).requires_grad_()
    a, b = classifier(), classifier()
    a.fit(xt, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    b.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert same(a.get_weights(), b.get_weights())
    assert xt.grad is None


def test_validation_data_takes_precedence_over_validation_split():
    """As Keras: with validation_data given, validation_split is ignored (all samples train)."""
    x, y = indexed_data(10)
    xv, yv = x[:3] + 0.5, y[:3]
    model, rec = recorder_model()
    history = model.fit(x, y, batch_size=4, validation_split=0.5, validation_data=(xv, yv),
                        shuffle=False, verbose=0)
    assert rec.ids() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(xv, yv, verbose=0),
                                                            rel=1e-12)


def test_train_on_batch_class_weight_equals_sample_weight():
    x, y = blobs()
    cw = {0: 0.5, 1: 2.0, 2: 1.0}
    a, b = classifier(), classifier()
    assert a.train_on_batch(x, y, class_weight=cw) == \
        b.train_on_batch(x, y, sample_weight=np.array([cw[c] for c in y]))
    assert same(a.get_weights(), b.get_weights())
