"""Snippets of keras.io's guides ("The Functional API", "Making new layers and models via
subclassing") ported with only the import changed, and the Keras behaviour they rely on: activation
functions on symbolic tensors, `Model.from_config(config, custom_objects=...)` for a class that is
not registered, `variable.assign_add`, `ops.shape` of a symbolic tensor and a batch-sized
`ops.zeros` in a hand-written RNN (against torch autograd: float64, 20 steps, 1e-10)."""

import numpy as np
import pytest
import torch
from test_graph_oracle import Oracle, batches_of, dense, mse, randn, train_both

import kerasette as keras
from kerasette import layers, ops


class MLPBlock(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = layers.Dense(32)
        self.linear_2 = layers.Dense(32)
        self.linear_3 = layers.Dense(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = keras.activations.relu(x)
        x = self.linear_2(x)
        x = keras.activations.relu(x)
        return self.linear_3(x)


def test_mlp_block_with_activation_functions_on_symbolic_tensors():
    mlp = MLPBlock()
    y = mlp(ops.ones(shape=(3, 64)))
    assert tuple(y.shape) == (3, 1)
    assert len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6
    k1, b1, k2, b2, k3, b3 = (w.value for w in mlp.weights)
    x = torch.randn(5, 64)
    want = torch.relu(torch.relu(x @ k1 + b1) @ k2 + b2) @ k3 + b3
    torch.testing.assert_close(mlp(x), want)
    # on data, as Keras: arrays and lists are taken too
    np.testing.assert_allclose(keras.activations.relu(np.array([-1.0, 2.0])), [0.0, 2.0])
    assert keras.activations.get("tanh")([0.0]).tolist() == [0.0]


class CustomDense(layers.Layer):  # not registered: found in this module, or in custom_objects
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                 trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {"units": self.units}


def test_custom_dense_config_round_trip_as_the_functional_guide_does_it():
    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    assert isinstance(new_model.layers[1], CustomDense) and new_model.output_shape == (None, 10)
    again = keras.Model.from_config(config)  # as Keras: this module defines the class
    assert isinstance(again.layers[1], CustomDense)
    with pytest.raises(TypeError, match="custom_objects"):
        keras.Model.from_config(config, custom_objects=["CustomDense"])


def test_state_updates_in_a_traced_call_are_refused_and_work_on_data():
    class ComputeSum(keras.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    with pytest.raises(TypeError, match=r"'compute_sum\S*/variable' expects data, received a "
                                        r"symbolic tensor.*forward\(x\)"):
        ComputeSum(2)(ops.ones((2, 2)))
    w = keras.layers.Dense(2).add_weight(shape=(2,), initializer="ones")
    w.assign_add(np.array([1.0, 2.0]))
    w.assign_sub(0.5)
    assert w.value.tolist() == [1.5, 2.5]
    with pytest.raises(ValueError, match="finite"):
        w.assign_add(float("nan"))
    assert w.value.tolist() == [1.5, 2.5]  # refused before anything changed


# ----- "Mixing and matching": a hand-written RNN with a zero initial state ---------------------------
class TinyRNN(layers.Layer):
    """h_t = tanh(x_t W + b) + tanh(h_{t-1} U + c), h_0 = 0, over every step of the input."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.projection_1 = layers.Dense(units, activation="tanh")
        self.projection_2 = layers.Dense(units, activation="tanh")

    def call(self, inputs):
        state = ops.zeros(shape=(ops.shape(inputs)[0], self.units))
        outputs = []
        for t in range(inputs.shape[1]):
            state = self.projection_1(inputs[:, t, :]) + self.projection_2(state)
            outputs.append(state)
        return ops.stack(outputs, axis=1)


@pytest.mark.usefixtures("float64")
def test_hand_written_rnn_with_a_batch_sized_zero_state_matches_autograd():
    x_in = keras.Input((4, 3))
    rnn, head = TinyRNN(5), layers.Dense(2)
    model = keras.Model(x_in, head(layers.GlobalAveragePooling1D()(rnn(x_in))))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    oracle = Oracle(model, 0.1)

    def loss_fn(P, x, y):
        state, outputs = torch.zeros(x.shape[0], 5, dtype=x.dtype), []
        for t in range(4):
            state = dense(P[rnn.projection_1], x[:, t], torch.tanh) + \
                dense(P[rnn.projection_2], state, torch.tanh)
            outputs.append(state)
        return mse(dense(P[head], torch.stack(outputs, 1).mean(1)), y)

    # batch sizes change between steps: the zero state takes each batch's size
    train_both(model, oracle, loss_fn, batches_of(
        lambda i: (randn(6 + i % 3, 4, 3, seed=i), randn(6 + i % 3, 2, seed=100 + i))))


def test_batch_sized_shapes_only_in_a_traced_call_and_only_first():
    x = keras.Input((4, 3))
    assert ops.shape(x) == (None, 4, 3)
    with pytest.raises(ValueError, match="unknown.*batch size.*traced"):
        ops.zeros((None, 3))

    class Bad(layers.Layer):
        def call(self, inputs):
            return inputs + ops.ones((ops.shape(inputs)[0], None, 3))

    with pytest.raises(ValueError, match="only the first"):
        Bad()(x)

    class Full(layers.Layer):
        def call(self, inputs):
            return inputs * ops.full((ops.shape(inputs)[0], 4, 3), 2.5)

    model = keras.Model(x, Full()(x))
    data = np.random.default_rng(0).normal(size=(7, 4, 3))
    np.testing.assert_allclose(model.predict(data, verbose=0), 2.5 * data, rtol=1e-6)


# ----- add_loss inside a traced call ------------------------------------------------------------
class ActivityRegularizationLayer(layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


@pytest.mark.usefixtures("float64")
def test_add_loss_in_a_traced_call_is_added_to_the_loss_and_trains():
    inputs = keras.Input(shape=(3,))
    first, head = layers.Dense(4, activation="tanh"), layers.Dense(1)
    model = keras.Model(inputs, head(ActivityRegularizationLayer(0.5)(first(inputs))))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    oracle = Oracle(model, 0.1)

    def loss_fn(P, x, y):
        h = dense(P[first], x, torch.tanh)
        return mse(dense(P[head], h), y) + 0.5 * h.mean()

    batches = batches_of(lambda i: (randn(8, 3, seed=i), randn(8, 1, seed=100 + i)))
    x, y = batches[0]
    P = Oracle(model, 0.1)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(float(loss_fn(P, x, y).detach()),
                                                          abs=1e-12)
    train_both(model, oracle, loss_fn, batches)


class PenalisedNet(keras.Model):
    """A subclassed model whose call() adds two terms, one of them a matrix (summed, as Keras)."""

    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(4, activation="tanh")
        self.out = layers.Dense(2)

    def call(self, inputs):
        h = self.hidden(inputs)
        self.add_loss(0.1 * ops.sum(ops.square(self.hidden.kernel)))
        self.add_loss(0.01 * ops.abs(h) / 8.0)
        return {"a": self.out(h), "b": h}


@pytest.mark.usefixtures("float64")
def test_add_loss_in_a_subclassed_model_with_several_outputs():
    model = PenalisedNet()
    model.build((None, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss={"a": "mse", "b": "mse"})
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        kernel, bias = P[model.hidden]
        h = torch.tanh(x @ kernel + bias)
        penalty = 0.1 * (kernel ** 2).sum() + (0.01 * h.abs() / 8.0).sum()
        return mse(dense(P[model.out], h), y["a"]) + mse(h, y["b"]) + penalty

    train_both(model, oracle, loss_fn, batches_of(lambda i: (
        randn(8, 3, seed=i), {"a": randn(8, 2, seed=100 + i), "b": randn(8, 4, seed=200 + i)})))


def test_a_symbolic_add_loss_outside_a_traced_call_is_refused():
    layer = layers.Dense(2)
    with pytest.raises(TypeError, match=r"'dense\S*'\.add_loss takes a symbolic tensor only inside"):
        layer.add_loss(ops.mean(keras.Input((3,))))


def test_outputs_keep_their_names_beside_an_add_loss():
    class TwoHeads(keras.Model):
        def __init__(self):
            super().__init__()
            self.first, self.second = layers.Dense(1, name="first"), layers.Dense(1, name="second")

        def call(self, inputs):
            self.add_loss(ops.mean(ops.square(inputs)))
            return [self.first(inputs), self.second(inputs)]

    model = TwoHeads()
    model.build((None, 2))
    assert model.output_names == ["first", "second"]
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    data = np.ones((4, 2))
    logs = model.fit(data, [data[:, :1], data[:, :1]], verbose=0).history
    assert sorted(logs) == ["first_loss", "loss", "second_loss"]


# ----- an endpoint layer: a loss object in call(), compile without a loss, fit on x alone ---------
class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, logits, targets, sample_weights=None):  # the guide passes (logits, targets)
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)
        return ops.softmax(logits)


def endpoint_model():
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    dense = keras.layers.Dense(10)
    predictions = LogisticEndpoint(name="predictions")(dense(inputs), targets)
    return keras.Model(inputs=[inputs, targets], outputs=predictions), dense


@pytest.mark.usefixtures("float64")
def test_endpoint_layer_trains_on_its_added_loss_alone():
    model, dense_layer = endpoint_model()
    model.compile(optimizer=keras.optimizers.SGD(0.5))  # no loss: the endpoint adds it
    oracle = Oracle(model, 0.5)

    def loss_fn(P, x, y):
        logits = dense(P[dense_layer], x["inputs"])
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, x["targets"])

    for i in range(20):
        x = {"inputs": randn(6, 3, seed=i), "targets": torch.rand(6, 10, dtype=torch.float64,
                                                                generator=torch.Generator()
                                                                .manual_seed(50 + i))}
        got = model.train_on_batch(x)
        want = oracle.step(loss_fn(oracle, x, None))
        assert abs(got - want) <= 1e-10 * max(1.0, abs(want))
        assert model.test_on_batch(x) == pytest.approx(float(loss_fn(oracle, x, None)), abs=1e-10)
    oracle.assert_weights(model)
    data = {"inputs": np.random.default_rng(0).random((8, 3)),
            "targets": np.random.default_rng(1).random((8, 10))}
    history = model.fit(data, epochs=2, validation_split=0.25, verbose=0).history
    assert sorted(history) == ["loss", "val_loss"]
    assert model.evaluate(data, verbose=0) > 0
    assert model.predict(data, verbose=0).shape == (8, 10)
    with pytest.raises(ValueError, match=r"Invalid y: model '.*' was compiled without a loss"):
        model.fit(data, np.ones((8, 10)), verbose=0)


def test_a_model_with_nothing_to_train_on_still_needs_a_loss():
    x = keras.Input((3,))
    model = keras.Model(x, layers.Dense(1)(x))
    model.compile(optimizer="sgd")
    with pytest.raises(keras.training.NotCompiledError, match="compile"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)


def test_targets_computed_by_weights_are_refused_as_y_true():
    class Swapped(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits):  # called with (logits, targets): y_true is the Dense
            self.add_loss(self.loss_fn(targets, logits))
            return logits

    inputs, targets = keras.Input((3,)), keras.Input((10,))
    with pytest.raises(TypeError, match=r"y_true: loss 'binary_crossentropy' got targets computed "
                                        r"by layer 'dense\S*', which has weights"):
        Swapped()(keras.layers.Dense(10)(inputs), targets)


def test_test_on_batch_includes_added_losses_as_evaluate_does():
    x = keras.Input((3,))
    model = keras.Model(x, layers.Dense(1)(layers.ActivityRegularization(l2=0.5)(x)))
    model.compile(optimizer="sgd", loss="mse")
    xs, ys = np.ones((4, 3)), np.zeros((4, 1))
    assert model.test_on_batch(xs, ys) == pytest.approx(model.evaluate(xs, ys, verbose=0))
    assert model.test_on_batch(xs, ys) > float(keras.losses.MeanSquaredError()(
        ys, model.predict(xs, verbose=0)))


def test_positional_inputs_and_a_positional_training_flag():
    class Pair(layers.Layer):
        def call(self, a, b):
            return a * 2.0 + b

    a, b = keras.Input((2,)), keras.Input((2,))
    model = keras.Model([a, b], Pair()(a, b))
    data = [np.ones((3, 2)), np.full((3, 2), 5.0)]
    np.testing.assert_allclose(model.predict(data, verbose=0), np.full((3, 2), 7.0))
    np.testing.assert_allclose(model(*data), np.full((3, 2), 7.0))  # on data too
    drop = layers.Dropout(0.5, seed=1)
    x = torch.ones(4, 100)
    assert torch.equal(drop(x, False), x) and not torch.equal(drop(x, True), x)


# ----- "Training & evaluation with built-in methods": a Loss subclass with call() ----------------
class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor

    def get_config(self):
        return {"regularization_factor": self.regularization_factor, "name": self.name}


def custom_mse(y, p, factor):
    return (((y - p) ** 2).mean(-1) + ((0.5 - p) ** 2).mean(-1) * factor)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
def test_a_loss_subclass_with_call_trains_like_autograd(reduction):
    x_in = keras.Input((3,))
    first, head = layers.Dense(4, activation="tanh"), layers.Dense(2)
    model = keras.Model(x_in, head(first(x_in)))
    model.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss=CustomMSE(0.3, reduction=reduction))
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        values = custom_mse(y, dense(P[head], dense(P[first], x, torch.tanh)), 0.3)
        return values.mean() if reduction == "sum_over_batch_size" else values.sum()

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 3, seed=i), randn(8, 2, seed=100 + i))))
    y, p = randn(5, 2, seed=1), randn(5, 2, seed=2)
    w = torch.tensor([1.0, 0.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    scale = 5 if reduction == "sum_over_batch_size" else 1
    assert float(model.loss(y, p, sample_weight=w)) == pytest.approx(
        float((custom_mse(y, p, 0.3) * w).sum() / scale), abs=1e-12)
    per_sample = CustomMSE(0.3, reduction=None)(y, p)
    torch.testing.assert_close(per_sample, custom_mse(y, p, 0.3))


def test_a_loss_subclass_with_call_saves_and_loads(tmp_path):
    x_in = keras.Input((3,))
    model = keras.Model(x_in, layers.Dense(2)(x_in))
    model.compile(optimizer="adam", loss=CustomMSE(0.2))
    data = np.random.default_rng(0).normal(size=(8, 3))
    model.fit(data, data[:, :2], verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", custom_objects={"CustomMSE": CustomMSE})
    assert isinstance(again.loss, CustomMSE) and again.loss.regularization_factor == 0.2
    assert again.evaluate(data, data[:, :2], verbose=0) == pytest.approx(
        model.evaluate(data, data[:, :2], verbose=0))


# ----- "Serialization and saving": an activation written as a function ------------------------------
@keras.saving.register_keras_serializable(package="tests_guides", name="squared_plus")
def squared_plus(x):
    return x ** 2 + 0.5 * x


def swish(x):  # not registered: found again in this module
    return x * ops.sigmoid(x)


@pytest.mark.usefixtures("float64")
def test_activation_functions_of_ks_ops_train_like_autograd():
    x_in = keras.Input((3,))
    first = layers.Dense(4, activation=swish)
    second = layers.Dense(4, activation=lambda z: ops.where(z > 0.0, z, 0.1 * z))
    head = layers.Dense(2, activation=squared_plus)
    model = keras.Model(x_in, head(second(first(x_in))))
    model.compile(optimizer=keras.optimizers.SGD(0.02), loss="mse")
    oracle = Oracle(model, 0.02)

    def loss_fn(P, x, y):
        h = dense(P[first], x, lambda z: z * torch.sigmoid(z))
        h = dense(P[second], h, lambda z: torch.where(z > 0, z, 0.1 * z))
        return mse(dense(P[head], h, lambda z: z ** 2 + 0.5 * z), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 3, seed=i), randn(8, 2, seed=100 + i))))
    errors = keras.testing.check_gradients(layers.Dense(3, activation=swish), randn(4, 2, seed=0))
    assert max(errors.values()) < 1e-7


def test_function_activations_save_by_name_and_a_lambda_says_it_cannot(tmp_path):
    x_in = keras.Input((3,))
    model = keras.Model(x_in, layers.Dense(2, activation=squared_plus)(
        layers.Dense(4, activation=swish)(x_in)))
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    data = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(again.predict(data, verbose=0), model.predict(data, verbose=0))
    assert again.layers[1].activation.fn is swish and again.layers[2].activation.fn is squared_plus
    assert keras.activations.get("tests_guides>squared_plus").fn is squared_plus
    anonymous = keras.Model(x_in, layers.Dense(2, activation=lambda z: z * 2.0)(x_in))
    with pytest.raises(ValueError, match="lambda"):
        anonymous.save(tmp_path / "lambda.keras")


# ----- keras.random: a VAE's sampling layer and a custom dropout with `if training:` ---------------
class Sampling(layers.Layer):
    """The VAE example's layer, with its KL term added as a loss."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        kl = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        self.add_loss(0.1 * ops.mean(ops.sum(kl, axis=1)))
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


@pytest.mark.usefixtures("float64")
def test_a_sampling_layer_trains_by_reparameterisation_like_autograd():
    x_in = keras.Input((4,))
    mean_layer, log_var_layer, decoder = layers.Dense(2), layers.Dense(2), layers.Dense(4)
    model = keras.Model(x_in, decoder(Sampling()([mean_layer(x_in), log_var_layer(x_in)])))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)
    noise = torch.Generator().manual_seed(1337)  # the same stream as the layer's SeedGenerator

    def loss_fn(P, x, y):
        z_mean, z_log_var = dense(P[mean_layer], x), dense(P[log_var_layer], x)
        eps = torch.randn(x.shape[0], 2, generator=noise, dtype=x.dtype)
        kl = -0.5 * (1 + z_log_var - z_mean ** 2 - torch.exp(z_log_var))
        z = z_mean + torch.exp(0.5 * z_log_var) * eps
        return mse(dense(P[decoder], z), y) + 0.1 * kl.sum(1).mean()

    batches = batches_of(lambda i: (randn(8, 4, seed=i), None))
    train_both(model, oracle, loss_fn, [(x, x) for x, _ in batches])


class CustomDropout(layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(7)

    def call(self, inputs, training=None):
        if training:  # traced for both values: the branch holds when the model runs
            return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
        return inputs


@pytest.mark.usefixtures("float64")
def test_a_training_branch_in_a_custom_layer_holds_at_run_time():
    x_in = keras.Input((5,))
    first, head = layers.Dense(6, activation="tanh"), layers.Dense(1)
    drop = CustomDropout(0.4)
    model = keras.Model(x_in, head(drop(first(x_in))))
    data = randn(3, 5, seed=0)
    torch.testing.assert_close(model(data), model(data))  # inference: no dropout
    plain = dense([w.value for w in head.weights],
                  dense([w.value for w in first.weights], data, torch.tanh))
    torch.testing.assert_close(model.predict(data, verbose=0), plain)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)
    masks = torch.Generator().manual_seed(7)

    def loss_fn(P, x, y):
        h = dense(P[first], x, torch.tanh)
        keep = (torch.rand(h.shape, generator=masks) < 0.6).to(h.dtype) / 0.6
        return mse(dense(P[head], h * keep), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 5, seed=i), randn(8, 1, seed=100 + i))))
    assert "seed_generator" in drop.rng_generators()  # saved and restored with a run


def test_a_model_call_that_branches_on_training_is_refused():
    class Branches(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, inputs, training=False):
            return self.dense(inputs) * 2.0 if training else self.dense(inputs)

    with pytest.raises(TypeError, match=r"may not branch on `training`.*custom layer"):
        Branches().build((None, 3))


def test_random_draws_on_data_follow_keras_seeds():
    assert torch.equal(keras.random.normal((3,), seed=4), keras.random.normal((3,), seed=4))
    gen = keras.random.SeedGenerator(4)
    assert not torch.equal(keras.random.normal((3,), seed=gen), keras.random.normal((3,), seed=gen))
    keras.utils.set_random_seed(9)
    first = keras.random.uniform((4,), minval=2.0, maxval=3.0)
    keras.utils.set_random_seed(9)
    assert torch.equal(first, keras.random.uniform((4,), minval=2.0, maxval=3.0))
    assert bool(((first >= 2.0) & (first < 3.0)).all())
    t = keras.random.truncated_normal((2000,), stddev=0.5, seed=1)
    assert float(t.abs().max()) <= 1.0 and t.dtype == torch.float32
    assert sorted(keras.random.shuffle(np.arange(6), seed=2).tolist()) == list(range(6))
    ints = keras.random.randint((100,), 3, 6, seed=0)
    assert ints.dtype == torch.int32 and set(ints.tolist()) <= {3, 4, 5}
    kept = keras.random.dropout(np.ones((1000,)), rate=0.25, seed=0)
    assert sorted(kept.unique().tolist()) == [0.0, pytest.approx(1 / 0.75)]
    with pytest.raises(ValueError, match="Invalid rate"):
        keras.random.dropout(np.ones(3), rate=1.0)
    with pytest.raises(ValueError, match="Invalid seed"):
        keras.random.normal((2,), seed=-1)


def test_building_a_layer_directly_builds_it_once_as_keras_does():
    dense = layers.Dense(3)
    dense.build((None, 4))
    assert dense.built
    dense.set_weights([np.ones((4, 3)), np.zeros(3)])
    torch.testing.assert_close(dense(torch.ones(1, 4)), torch.full((1, 3), 4.0))
    assert len(dense.weights) == 2  # not built a second time by the call

    class Scaled(layers.Dense):  # Keras's idiom: a build that calls its parent's
        def build(self, input_shape):
            super().build(input_shape)
            self.scale = self.add_weight(shape=(self.units,), initializer="ones", name="scale")

        def call(self, inputs):
            return ops.matmul(inputs, self.kernel) * self.scale

    layer = Scaled(2, use_bias=False)
    layer.build((None, 3))
    assert [w.name.split("/")[-1] for w in layer.weights] == ["kernel", "scale"]
    layer.set_weights([np.ones((3, 2)), np.full(2, 3.0)])
    torch.testing.assert_close(layer(torch.ones(1, 3)), torch.full((1, 2), 9.0))
