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
