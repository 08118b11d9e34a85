"""Keras 3 user scripts ported with only the import changed: what a Keras user relies on (log keys
and types per hook, stored logs, return types, defaults) behaves as in Keras 3.15."""

import numpy as np
import pytest
import torch

import kerasette as keras
from kerasette import layers

RNG = np.random.default_rng(0)
X = RNG.random((48, 4)).astype("float32")
Y = (X @ np.array([1.0, -2.0, 0.5, 1.0], dtype="float32") > 0.2).astype("float32")


def binary_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


# ----- callback logs -----------------------------------------------------------------------------
class KeepLogs(keras.callbacks.Callback):
    """Keeps the logs objects themselves (not copies) and reads them only after training."""

    def on_train_begin(self, logs=None):
        self.batch, self.test_batch, self.backward, self.now = [], [], [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batch.append(logs)
        self.now.append(logs["loss"])  # what a callback reading at once sees

    def on_backward_end(self, batch, logs=None):
        self.backward.append(logs)

    def on_test_batch_end(self, batch, logs=None):
        self.test_batch.append(logs)


def test_stored_batch_logs_keep_their_values():
    # A callback that stores `logs` and reads them later must see that batch's values, not the
    # running sums as they are at the end of training.
    keep = KeepLogs()
    model = binary_model()
    model.fit(X, Y, batch_size=9, epochs=2, validation_split=0.25, verbose=0, callbacks=[keep])
    later = [logs["loss"] for logs in keep.batch]
    assert later == keep.now
    assert len(set(later)) == len(later)  # running means differ batch to batch
    # 36 training samples, 4 batches an epoch: the first batch of each epoch is that batch's loss
    # alone, the last one the epoch's mean
    assert later[0] == pytest.approx(keep.backward[0]["loss"])
    assert later[4] == pytest.approx(keep.backward[4]["loss"])
    assert later[3] == pytest.approx(model.history.history["loss"][0])
    assert later[-1] == pytest.approx(model.history.history["loss"][-1])
    assert keep.test_batch[-1]["loss"] == pytest.approx(model.history.history["val_loss"][-1])
    first_epoch_accuracy = [logs["accuracy"] for logs in keep.batch[:4]]
    assert first_epoch_accuracy[-1] == pytest.approx(model.history.history["accuracy"][0])


def test_batch_logs_are_a_mapping_of_floats_that_prints_as_a_dict():
    keep = KeepLogs()
    binary_model().fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[keep])
    logs = keep.batch[-1]
    as_dict = dict(logs)
    assert list(as_dict) == ["loss", "accuracy"]
    assert all(type(v) is float for v in as_dict.values())
    assert repr(logs) == repr(as_dict)
    assert logs.get("missing") is None and "loss" in logs
    with pytest.raises(TypeError):
        logs["loss"] = 0.0  # read-only (DESIGN.md: callbacks add keys to epoch logs only)


class LogKeys(keras.callbacks.Callback):
    """The callbacks guide's CustomCallback: records the log keys every hook receives."""

    def __init__(self):
        super().__init__()
        self.seen = {}

    def _record(self, hook, logs):
        self.seen.setdefault(hook, list(logs.keys()))

    def on_train_begin(self, logs=None):
        self._record("train_begin", logs)

    def on_train_end(self, logs=None):
        self._record("train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._record("epoch_begin", logs)

    def on_epoch_end(self, epoch, logs=None):
        self._record("epoch_end", logs)

    def on_test_begin(self, logs=None):
        self._record("test_begin", logs)

    def on_test_end(self, logs=None):
        self._record("test_end", logs)

    def on_predict_begin(self, logs=None):
        self._record("predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._record("predict_end", logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._record("train_batch_begin", logs)

    def on_train_batch_end(self, batch, logs=None):
        self._record("train_batch_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._record("test_batch_begin", logs)

    def on_test_batch_end(self, batch, logs=None):
        self._record("test_batch_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._record("predict_batch_begin", logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._record("predict_batch_end", logs)


def regression_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential()
    model.add(layers.Dense(1))
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1), loss="mean_squared_error",
                  metrics=["mean_absolute_error"])
    return model


def test_log_keys_per_hook_match_the_callbacks_guide():
    # Keras 3's guide output: on_train_end gets the last epoch's logs (val_* included).
    model, y = regression_model(), X.sum(1)
    cb = LogKeys()
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, validation_split=0.5, callbacks=[cb])
    model.evaluate(X, y, batch_size=16, verbose=0, callbacks=[cb])
    model.predict(X, batch_size=16, verbose=0, callbacks=[cb])
    metrics = ["loss", "mean_absolute_error"]
    everything = metrics + ["val_loss", "val_mean_absolute_error"]
    assert cb.seen == {
        "train_begin": [], "epoch_begin": [], "train_batch_begin": [], "train_batch_end": metrics,
        "test_begin": [], "test_batch_begin": [], "test_batch_end": metrics, "test_end": metrics,
        "epoch_end": everything, "train_end": everything,
        "predict_begin": [], "predict_batch_begin": [], "predict_batch_end": ["outputs"],
        "predict_end": []}


def test_train_end_logs_are_the_last_epoch_logs_even_after_early_stopping():
    final = {}
    cb = keras.callbacks.LambdaCallback(on_train_end=lambda logs: final.update(logs))
    model = binary_model()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = model.fit(X, Y, epochs=5, verbose=0, callbacks=[stop, cb])
    assert len(history.epoch) == 2
    assert final == {k: v[-1] for k, v in history.history.items()}
    final.clear()
    model.fit(X, Y, epochs=0, verbose=0, callbacks=[cb])
    assert final == {}


# ----- the Sequential model guide -----------------------------------------------------------------
def test_calling_a_model_on_data_builds_it_and_returns_a_tensor():
    model = keras.Sequential([layers.Dense(2, activation="relu", name="layer1"),
                              layers.Dense(3, activation="relu", name="layer2"),
                              layers.Dense(4, name="layer3")])
    assert model.weights == [] and not model.built
    x = torch.ones((3, 3))
    y = model(x)
    assert isinstance(y, torch.Tensor) and y.shape == (3, 4) and len(model.weights) == 6
    assert torch.equal(y, model.predict(x, verbose=0))
    manual = x
    for layer in model.layers:
        manual = layer(manual)
    torch.testing.assert_close(y, manual)
    assert np.array_equal(model(x.numpy()).numpy(), y.numpy())  # NumPy in: a tensor out, as Keras


def test_calling_a_model_with_training_applies_dropout():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((50,)), layers.Dropout(0.5)])
    x = torch.ones((4, 50))
    assert torch.equal(model(x), x)
    dropped = model(x, training=True)
    assert set(dropped.unique().tolist()) == {0.0, 2.0}


# ----- data Keras accepts -------------------------------------------------------------------------
class FakeFrame:
    """What fit needs from a pandas DataFrame / Series (pandas is not a test dependency)."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __len__(self):
        return len(self.values)


def test_dataframe_like_inputs_train_like_their_arrays():
    a, b = binary_model(), binary_model()
    ha = a.fit(FakeFrame(X), FakeFrame(Y), epochs=2, batch_size=8, verbose=0,
               validation_data=(FakeFrame(X[:8]), FakeFrame(Y[:8])))
    hb = b.fit(X, Y, epochs=2, batch_size=8, verbose=0, validation_data=(X[:8], Y[:8]))
    assert ha.history == hb.history
    out = a.predict(FakeFrame(X[:3]), verbose=0)
    assert isinstance(out, np.ndarray) and np.array_equal(out, a.predict(X[:3], verbose=0))
    assert a.evaluate(FakeFrame(X), FakeFrame(Y), verbose=0) == a.evaluate(X, Y, verbose=0)


def test_class_weight_keys_from_numpy_train_like_int_keys():
    # dict(zip(np.unique(y), weights)) gives NumPy keys (float ones for float labels); Keras looks
    # them up by value.
    weights = [1.0, 3.0]
    expected = binary_model().fit(X, Y, class_weight={0: 1.0, 1: 3.0}, verbose=0).history
    for keys in (np.unique(Y.astype("int64")), np.unique(Y)):
        cw = dict(zip(keys, np.array(weights)))
        assert binary_model().fit(X, Y, class_weight=cw, verbose=0).history == expected


# ----- arguments Keras takes ----------------------------------------------------------------------
def test_verbose_may_be_a_bool(capsys):
    # fit(verbose=False) is common in Keras scripts: False is 0 and True is 1 there
    model = binary_model()
    model.fit(X, Y, epochs=2, verbose=False)
    assert model.evaluate(X, Y, verbose=False) == model.evaluate(X, Y, verbose=0)
    model.predict(X, verbose=False)
    assert capsys.readouterr().out == ""
    model.fit(X, Y, epochs=1, verbose=True)
    assert "Epoch 1/1: 100%" in capsys.readouterr().out  # verbose=1: the progress bar
    for cls in (keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau):
        assert cls(verbose=True).verbose == 1
    assert keras.callbacks.ModelCheckpoint("m.keras", verbose=False).verbose == 0


# ----- printed messages ---------------------------------------------------------------------------
def test_model_checkpoint_messages_read_like_keras(tmp_path, capsys):
    path = str(tmp_path / "best.keras")
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True,
                                                 verbose=1)
    checkpoint.set_model(binary_model())
    checkpoint.on_train_begin()
    for epoch, loss in enumerate([0.75, 0.5, 0.625]):
        checkpoint.on_epoch_end(epoch, {"loss": loss})
    assert capsys.readouterr().out.splitlines() == [
        f"Epoch 1: loss improved from None to 0.75000, saving model to {path}",
        f"Epoch 2: loss improved from 0.75000 to 0.50000, saving model to {path}",
        "Epoch 3: loss did not improve from 0.50000"]


def test_a_layer_called_on_another_dtype_casts_like_keras():
    # Keras casts a layer's inputs to its dtype; a float32 Dense fed float64 raised torch's
    # "mat1 and mat2 must have the same dtype"
    dense = layers.Dense(3)
    x32 = torch.randn(2, 4)
    y = dense(x32)
    for x in (x32.double(), x32.half()):
        out = dense(x)
        assert out.dtype == torch.float32 and torch.allclose(out, y, atol=1e-2)
    ints = torch.arange(8).reshape(2, 4)
    torch.testing.assert_close(dense(ints), dense(ints.float()))
    assert layers.ReLU()(ints).dtype == torch.float32
    assert layers.Softmax()(ints).sum(-1).allclose(torch.ones(2))


def test_get_layer_by_name_or_index():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, name="hidden"),
                              layers.Dense(1, name="out")])
    assert model.get_layer("out") is model.layers[-1]
    assert model.get_layer(index=0) is model.get_layer(name="hidden")
    assert model.get_layer(index=-1).name == "out"
    with pytest.raises(ValueError, match=r"no layer 'outt'.*\['hidden', 'out'\]"):
        model.get_layer("outt")
    with pytest.raises(ValueError, match="Invalid index: .*2 layers, received 2"):
        model.get_layer(index=2)
    with pytest.raises(ValueError, match="one of them"):
        model.get_layer("out", 1)
    with pytest.raises(ValueError, match="one of them"):
        model.get_layer()


def test_weights_convert_to_numpy_like_keras_variables():
    model = binary_model()
    arrays = [w.numpy() for w in model.weights]
    assert all(np.array_equal(a, b) for a, b in zip(arrays, model.get_weights()))
    kernel = model.layers[0].kernel
    before = kernel.numpy()
    before += 1.0  # a copy: changing it leaves the weight alone
    assert np.array_equal(kernel.numpy(), model.get_weights()[0])


# ----- plumbing a script relies on ----------------------------------------------------------------
def guide_script(seed, tmp_path):
    """The training guide's workflow end to end: seed, build lazily, callbacks, evaluate, predict."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01),
                  loss=keras.losses.BinaryCrossentropy(), metrics=["accuracy"])
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5),
                 keras.callbacks.ModelCheckpoint(str(tmp_path / f"best{seed}.keras"),
                                                 save_best_only=True)]
    history = model.fit(X, Y, batch_size=8, epochs=6, validation_split=0.25, callbacks=callbacks,
                        verbose=0)
    return history.history, model.evaluate(X, Y, verbose=0), model.predict(X, verbose=0)


def test_set_random_seed_makes_a_whole_script_reproducible(tmp_path):
    first, again, other = (guide_script(s, tmp_path) for s in (1, 1, 2))
    assert first[0] == again[0] and first[1] == again[1]
    assert np.array_equal(first[2], again[2])
    assert first[0] != other[0]
    assert all(type(v) is float for values in first[0].values() for v in values)
    assert type(first[1][0]) is float and first[2].dtype == np.float32


def test_the_best_checkpoint_holds_the_best_epoch(tmp_path):
    best = {}

    def remember(epoch, logs):
        if logs["val_loss"] < best.get("val_loss", np.inf):
            best.update(val_loss=logs["val_loss"], weights=model.get_weights())

    model = binary_model()
    path = str(tmp_path / "best.keras")
    model.fit(X, Y, batch_size=8, epochs=6, validation_split=0.25, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(path, save_best_only=True),
                         keras.callbacks.LambdaCallback(on_epoch_end=remember)])
    loaded = keras.models.load_model(path)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), best["weights"]))
    assert loaded.evaluate(X[36:], Y[36:], verbose=0)[0] == pytest.approx(best["val_loss"])
    loaded.fit(X, Y, epochs=1, verbose=0)  # a loaded checkpoint trains on


def test_compile_again_with_a_new_optimizer_starts_it_afresh_and_with_the_same_keeps_it():
    # Keras: compile(optimizer="adam") makes a new optimizer; passing model.optimizer keeps its state
    model = binary_model()
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    optimizer, steps = model.optimizer, model.optimizer.iterations
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    assert model.optimizer is optimizer and model.optimizer.iterations == steps == 6
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert model.optimizer is not optimizer and model.optimizer.iterations == 0
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    assert model.optimizer.iterations == 3


def test_float64_and_float16_numpy_data_in_a_float32_model():
    # NumPy defaults to float64: it is cast to the model's float32, as Keras does
    reference = binary_model()
    h32 = reference.fit(X, Y, epochs=2, batch_size=16, verbose=0).history
    for dtype in ("float64", "float16"):
        model = binary_model()
        history = model.fit(X.astype(dtype), Y.astype(dtype), epochs=2, batch_size=16,
                            verbose=0).history
        if dtype == "float64":  # exact: float64 -> float32 gives back the float32 data
            assert history == h32
        assert model.get_weights()[0].dtype == np.float32
        out = model.predict(X.astype(dtype), verbose=0)
        assert out.dtype == np.float32 and out.shape == (48, 1)
    assert reference.predict(X[:1], verbose=0).shape == (1, 1)  # one sample, still a batch


def test_repeated_metric_names_get_keras_suffixes_instead_of_overwriting():
    # Keras names them auc, auc_1; kerasette kept one column and dropped the other, and a metric
    # named "loss" replaced the loss in History
    model = binary_model()
    model.compile("adam", "binary_crossentropy",
                  metrics=[keras.metrics.AUC(), keras.metrics.AUC(curve="PR"), "mae", "mae",
                           keras.metrics.MeanSquaredError(name="loss")])
    history = model.fit(X, Y, epochs=1, verbose=0).history
    assert list(history) == ["loss", "auc", "auc_1", "mae", "mae_1", "loss_1"]
    assert history["auc"] != history["auc_1"]  # ROC and PR areas differ on these data
    assert history["loss"] != history["loss_1"]
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert list(logs) == model.metrics_names == list(history)
    assert logs["mae"] == logs["mae_1"]
    plain_bce = binary_model()
    assert history["loss"] == plain_bce.fit(X, Y, epochs=1, verbose=0).history["loss"]


def test_to_categorical_one_hot_labels_train_like_sparse_labels():
    labels = np.array([0, 2, 1, 2])
    onehot = keras.utils.to_categorical(labels)
    assert onehot.dtype == np.float32 and np.array_equal(onehot, np.eye(3)[labels])
    assert keras.utils.to_categorical(labels[:, None], num_classes=5).shape == (4, 5)
    as_tensor = keras.utils.to_categorical(torch.as_tensor(labels), 3)
    assert isinstance(as_tensor, torch.Tensor) and torch.equal(as_tensor, torch.eye(3)[labels])
    for bad, match in (([0.5, 1.0], "Invalid x: expected integer class labels"),
                       ([0, 3], r"Invalid x: .*\[0, 3\).*\[0, 3\]"), (["a"], "Invalid x")):
        with pytest.raises(ValueError, match=match):
            keras.utils.to_categorical(bad, 3)
    with pytest.raises(ValueError, match="Invalid num_classes"):
        keras.utils.to_categorical(labels, 0)

    def classifier(loss):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
        model.compile("sgd", loss, metrics=["accuracy"])
        return model

    y = (X[:, 0] * 3).astype(int).clip(0, 2)
    sparse = classifier("sparse_categorical_crossentropy").fit(X, y, verbose=0, shuffle=False)
    dense = classifier("categorical_crossentropy").fit(
        X, keras.utils.to_categorical(y, 3), verbose=0, shuffle=False)
    assert sparse.history["loss"] == pytest.approx(dense.history["loss"])
    assert sparse.history["accuracy"] == dense.history["accuracy"]


def test_one_dimensional_x_feeds_an_input_of_one_feature():
    # The Celsius-to-Fahrenheit tutorial: x of shape (7,) for ks.Input(shape=(1,)). Keras 3 adds
    # the feature axis (its rule: an input declared (None, ..., 1) takes x without that axis).
    celsius = np.array([-40, -10, 0, 8, 15, 22, 38], dtype=float)
    fahrenheit = celsius * 1.8 + 32

    def model():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(1)])
        m.compile(keras.optimizers.Adam(0.1), "mean_squared_error")
        return m

    flat, column = model(), model()
    h_flat = flat.fit(celsius, fahrenheit, epochs=3, batch_size=4, verbose=0)
    h_column = column.fit(celsius[:, None], fahrenheit, epochs=3, batch_size=4, verbose=0)
    assert h_flat.history == h_column.history
    assert flat.predict(np.array([100.0]), verbose=0).shape == (1, 1)
    assert flat.evaluate(celsius, fahrenheit, verbose=0) == column.evaluate(celsius[:, None],
                                                                            fahrenheit, verbose=0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.as_tensor(celsius), torch.as_tensor(fahrenheit)), batch_size=3)  # 3 batches
    assert len(model().fit(loader, epochs=1, verbose=0).history["loss"]) == 1
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 3\)"):
        keras.Sequential([keras.Input((3,)), layers.Dense(1)]).predict(celsius, verbose=0)
