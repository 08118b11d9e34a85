"""More scripts written the way Keras tutorials write them, run end to end with only the import
changed (`import kerasette as keras`): a custom Metric subclass, a functional two-input model, a
to_json / model_from_json round trip, a generator and a PyDataset, a registered custom layer.
The LR-finder and one-cycle callbacks, the K-fold loop with clear_session and keras.ops in a
functional model are in tests/test_keras_scripts_lr_and_backend.py (not repeated here)."""

import math

import numpy as np

import kerasette as keras
from kerasette import backend as K


def data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, :1] - 0.5 * x[:, 1:2] > 0).astype("float32")
    return x, y


def test_custom_metric_subclass_keras_guide_style():
    class BinaryTruePositives(keras.metrics.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_true = keras.ops.cast(y_true, "bool")
            y_pred = keras.ops.cast(keras.ops.greater(y_pred, 0.5), "bool")
            values = keras.ops.cast(keras.ops.logical_and(y_true, y_pred), self.dtype)
            if sample_weight is not None:
                values = keras.ops.multiply(values, keras.ops.cast(sample_weight, self.dtype))
            self.true_positives.assign_add(keras.ops.sum(values))

        def result(self):
            return self.true_positives

        def reset_state(self):
            self.true_positives.assign(0)

    x, y = data()
    model = keras.Sequential([keras.layers.Dense(16, input_dim=8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=[BinaryTruePositives(), keras.metrics.TruePositives()])
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    ours, builtin = history.history["binary_true_positives"], history.history["true_positives"]
    np.testing.assert_allclose(ours, builtin)
    assert 0 < ours[-1] <= y.sum()


def test_functional_two_input_model_and_json_round_trip():
    x, y = data()
    K.clear_session()
    wide = keras.Input(shape=(8,), name="wide")
    deep = keras.Input(shape=(8,), name="deep")
    h = keras.layers.Dense(16, activation="relu")(deep)
    h = keras.layers.Dense(16, activation="relu")(h)
    merged = keras.layers.concatenate([wide, h])
    output = keras.layers.Dense(1, activation="sigmoid", name="output")(merged)
    model = keras.Model(inputs=[wide, deep], outputs=[output])
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  metrics=["accuracy"])
    history = model.fit((x, x), y, epochs=5, batch_size=32, validation_split=0.2, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.8

    json_string = model.to_json()
    restored = keras.models.model_from_json(json_string)
    restored.set_weights(model.get_weights())
    np.testing.assert_allclose(restored.predict([x, x], verbose=0), model.predict([x, x], verbose=0))
    clone = keras.models.clone_model(model)
    clone.compile(loss="binary_crossentropy", optimizer="adam")
    clone.fit({"wide": x, "deep": x}, y, epochs=1, verbose=0)


def test_generator_and_pydataset_scripts():
    x, y = data()

    def batch_generator(x, y, batch_size=32):
        while True:
            idx = np.random.randint(0, len(x), batch_size)
            yield x[idx], y[idx]

    class DataSequence(keras.utils.PyDataset):
        def __init__(self, x_set, y_set, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y = x_set, y_set
            self.batch_size = batch_size

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, idx):
            low = idx * self.batch_size
            high = min(low + self.batch_size, len(self.x))
            return self.x[low:high], self.y[low:high]

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(batch_generator(x, y), steps_per_epoch=len(x) // 32, epochs=3, verbose=0)
    history = model.fit(DataSequence(x, y, 32, workers=2), epochs=3,
                        validation_data=DataSequence(x[:64], y[:64], 32), verbose=0)
    assert history.history["accuracy"][-1] > 0.8
    loss, acc = model.evaluate(DataSequence(x, y, 64), verbose=0)
    assert acc > 0.8
    assert model.predict(DataSequence(x, y, 64), verbose=0).shape == (len(x), 1)


def test_text_pipeline_with_pad_sequences_and_a_registered_custom_layer(tmp_path):
    @keras.saving.register_keras_serializable(package="scripts")
    class Scale(keras.layers.Layer):
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return keras.ops.multiply(inputs, self.factor)

        def get_config(self):
            config = super().get_config()
            config.update({"factor": self.factor})
            return config

    rng = np.random.default_rng(1)
    sequences = [list(rng.integers(1, 20, size=rng.integers(2, 9))) for _ in range(120)]
    labels = np.array([float(5 in s) for s in sequences], dtype="float32")
    padded = keras.utils.pad_sequences(sequences, maxlen=8)
    assert padded.shape == (120, 8) and padded.dtype == np.int32
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Embedding(20, 8),
                              keras.layers.GlobalAveragePooling1D(), Scale(2.0),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(padded, labels, epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "text.keras")
    restored = keras.saving.load_model(tmp_path / "text.keras")
    np.testing.assert_allclose(restored.predict(padded, verbose=0), model.predict(padded, verbose=0))


def test_functional_merge_forms_equal_their_layers():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    x = np.arange(6, dtype="float32").reshape(2, 3)
    y = x[::-1].copy()
    for fn, layer in ((keras.layers.add, keras.layers.Add), (keras.layers.subtract,
                       keras.layers.Subtract), (keras.layers.multiply, keras.layers.Multiply),
                      (keras.layers.average, keras.layers.Average), (keras.layers.maximum,
                       keras.layers.Maximum), (keras.layers.minimum, keras.layers.Minimum),
                      (keras.layers.concatenate, keras.layers.Concatenate)):
        got = keras.Model([a, b], fn([a, b])).predict([x, y], verbose=0)
        want = keras.Model([a, b], layer()([a, b])).predict([x, y], verbose=0)
        np.testing.assert_array_equal(got, want)
    dot = keras.Model([a, b], keras.layers.dot([a, b], axes=1)).predict([x, y], verbose=0)
    np.testing.assert_allclose(dot[:, 0], (x * y).sum(1))
