"""Short scripts written the way Keras tutorials and books write them (Keras 2 spellings,
`K = keras.backend`, `keras.ops`, LR-finder and one-cycle callbacks that read and assign
`optimizer.learning_rate`, K-fold loops with `clear_session`), run end to end with only the import
changed: `import kerasette as keras`."""

import math

import numpy as np
import torch

import kerasette as keras
from kerasette import backend as K


def data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, :1] - 0.5 * x[:, 1:2] > 0).float()
    return x.numpy(), y.numpy()


def test_lr_finder_callback_with_backend_get_value_and_set_value():
    class LRFinder(keras.callbacks.Callback):
        """Exponentially increase the rate each batch; record (rate, loss)."""

        def __init__(self, start_lr=1e-4, end_lr=1.0, num_steps=16):
            super().__init__()
            self.start_lr, self.factor = start_lr, (end_lr / start_lr) ** (1 / num_steps)
            self.lrs, self.losses = [], []

        def on_train_begin(self, logs=None):
            K.set_value(self.model.optimizer.learning_rate, self.start_lr)

        def on_train_batch_end(self, batch, logs=None):
            lr = K.get_value(self.model.optimizer.learning_rate)
            self.lrs.append(float(lr))
            self.losses.append(logs["loss"])
            K.set_value(self.model.optimizer.learning_rate, lr * self.factor)

    x, y = data()
    model = keras.Sequential([keras.layers.Dense(16, input_dim=8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="binary_crossentropy")
    finder = LRFinder()
    model.fit(x, y, batch_size=16, epochs=1, callbacks=[finder], verbose=0)
    assert len(finder.lrs) == 16
    np.testing.assert_allclose(finder.lrs, [1e-4 * finder.factor ** i for i in range(16)],
                               rtol=1e-5)
    assert all(math.isfinite(v) for v in finder.losses)


def test_one_cycle_callback_assigning_the_learning_rate_variable():
    class OneCycle(keras.callbacks.Callback):
        def __init__(self, max_lr, total_steps):
            super().__init__()
            self.max_lr, self.total = max_lr, total_steps
            self.step, self.seen = 0, []

        def on_train_batch_begin(self, batch, logs=None):
            half = self.total / 2
            frac = self.step / half if self.step < half else 2 - self.step / half
            self.model.optimizer.learning_rate.assign(self.max_lr * (0.1 + 0.9 * frac))
            self.seen.append(float(self.model.optimizer.learning_rate.numpy()))
            self.step += 1

    x, y = data()
    inputs = keras.Input(shape=(8,))
    h = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Nadam(learning_rate=1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    cycle = OneCycle(0.05, total_steps=2 * 16)
    history = model.fit(x, y, batch_size=16, epochs=2, callbacks=[cycle], verbose=0)
    assert max(cycle.seen) == np.float32(0.05) and min(cycle.seen) == np.float32(0.005)
    assert history.history["accuracy"][-1] > 0.8


def test_k_fold_loop_with_clear_session_and_get_layer():
    x, y = data()
    scores = []
    for fold in range(3):
        K.clear_session()
        val = slice(fold * 64, (fold + 1) * 64)
        train = np.ones(len(x), bool)
        train[val] = False
        model = keras.Sequential([
            keras.layers.InputLayer(input_shape=(8,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.1),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                      loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x[train], y[train], epochs=5, batch_size=32, verbose=0)
        scores.append(model.evaluate(x[val], y[val], verbose=0)[1])
        assert model.get_layer("dense").get_weights()[0].shape == (8, 32)
        assert model.get_layer("dense_1").get_weights()[0].shape == (32, 1)
    assert np.mean(scores) > 0.8


def test_keras_ops_inside_and_outside_a_functional_model():
    x, y = data()
    labels = y[:, 0].astype(np.int64)
    inputs = keras.Input(shape=(8,))
    logits = keras.layers.Dense(2)(inputs)
    scaled = keras.ops.divide(logits, 2.0)            # a temperature, as a graph node
    outputs = keras.ops.softmax(scaled)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, labels, epochs=10, batch_size=32, verbose=0)
    proba = model.predict(x, verbose=0)
    pred = keras.ops.convert_to_numpy(keras.ops.argmax(proba, axis=-1))
    assert (pred == labels).mean() > 0.75
    onehot = keras.ops.one_hot(keras.ops.convert_to_tensor(labels), 2)
    nll = -keras.ops.mean(keras.ops.sum(onehot * keras.ops.log(proba), axis=-1))
    assert abs(float(nll) - model.evaluate(x, labels, verbose=0)[0]) < 1e-4


def test_keras2_optimizer_spellings_give_a_fix_in_the_message():
    for call, fix in [(lambda: keras.optimizers.Adam(lr=0.001), "learning_rate=0.001"),
                      (lambda: keras.optimizers.SGD(learning_rate=0.1, decay=1e-4),
                       "InverseTimeDecay")]:
        try:
            call()
        except TypeError as e:
            assert fix in str(e)
        else:
            raise AssertionError("accepted a Keras 2 spelling")
