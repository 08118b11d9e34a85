"""A layer's weights as operands of any differentiable op in a traced call() (WeightRead nodes,
kerasette/ops/weight_read.py), against torch autograd on the same math: float64, 20 steps, 1e-10
(the harness of test_graph_oracle.py). Also: weight arithmetic on data, a subclassed model's own
build(), saving, and what the graph looks like."""

import numpy as np
import pytest
import torch
from test_graph_oracle import Oracle, batches_of, dense, mse, randn, train_both

import kerasette as ks
from kerasette import ops
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def of(P, weight):
    """The oracle's leaf for `weight`."""
    return P.params[P.index[id(weight)]]


# ----- a tied autoencoder: the decoder reads the encoder's kernel, transposed ----------------------
class TiedAutoencoder(ks.Model):
    """x -> tanh(x E + c) -> h E^T + b: E is trained by both its uses; b is the model's own
    weight, created in its build() as in Keras."""

    def __init__(self, code, **kwargs):
        super().__init__(**kwargs)
        self.encoder = Dense(code, activation="tanh", name="encoder")

    def build(self, input_shape):
        self.b = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="b")

    def call(self, x):
        h = self.encoder(x)
        return ops.matmul(h, ops.transpose(self.encoder.kernel)) + self.b


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_tied_autoencoder_subclassed_model(opt):
    model = TiedAutoencoder(3, name="tied")
    model.build((None, 5))
    assert [w.name for w in model.weights] == ["tied/b", "encoder/kernel", "encoder/bias"]
    lr = 0.05 if opt == "sgd" else 0.01
    model.compile(optimizer=ks.optimizers.SGD(lr) if opt == "sgd" else ks.optimizers.Adam(lr),
                  loss="mse")
    oracle = Oracle(model, lr, opt)

    def loss_fn(P, x, y):
        kernel, bias = P[model.encoder]
        return mse(torch.tanh(x @ kernel + bias) @ kernel.T + of(P, model.b), y)

    def batch(i):
        x = randn(8, 5, seed=i)
        return x, x

    train_both(model, oracle, loss_fn, batches_of(batch))


# ----- every kind of op on a weight inside one custom layer ----------------------------------------
class WeightMath(ks.layers.Layer):
    """Each weight through several ops, each weight read more than once."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
        self.log_s = self.add_weight(shape=(self.units,), initializer="random_normal")
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal")

    def call(self, x):
        z = ops.matmul(x, ops.transpose(ops.transpose(self.w))) * ops.exp(self.log_s)
        z = z + self.b * 2.0 - ops.mean(ops.square(self.w)) + (-self.b) ** 2
        z = z + abs(self.log_s) + self.w[0] - ops.sum(self.w, axis=0) * ops.tanh(self.b)
        return z / (1.0 + ops.sigmoid(self.log_s)) + ops.maximum(self.b, 0.1) * x[:, :1]


def weight_math(x, w, log_s, b):
    z = (x @ w) * torch.exp(log_s)
    z = z + b * 2.0 - (w ** 2).mean() + (-b) ** 2
    z = z + log_s.abs() + w[0] - w.sum(0) * torch.tanh(b)
    return z / (1.0 + torch.sigmoid(log_s)) + torch.maximum(b, torch.full_like(b, 0.1)) * x[:, :1]


def test_every_op_on_a_weight_trains_it_exactly():
    x_in = ks.Input((4,))
    custom, head = WeightMath(3), Dense(2)
    model = ks.Model(x_in, head(custom(x_in)))
    model.compile(optimizer=ks.optimizers.SGD(0.02), loss="mse")
    oracle = Oracle(model, 0.02)

    def loss_fn(P, x, y):
        return mse(dense(P[head], weight_math(x, *P[custom])), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 4, seed=i), randn(8, 2, seed=100 + i))))


def test_every_op_on_a_weight_passes_central_differences():
    errors = ks.testing.check_gradients(WeightMath(3, name="math"), randn(4, 4, seed=0))
    assert set(errors) == {"input", "math/variable", "math/variable_1", "math/variable_2"}
    assert max(errors.values()) < 1e-7, errors


def test_a_frozen_layer_whose_weight_is_read_stays_put():
    """The encoder frozen: its kernel gets no update from either use; b and the head train."""
    model = TiedAutoencoder(3)
    model.build((None, 5))
    model.encoder.trainable = False
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)
    frozen = [w.copy() for w in model.encoder.get_weights()]

    def loss_fn(P, x, y):
        kernel, bias = P[model.encoder]
        return mse(torch.tanh(x @ kernel + bias) @ kernel.T + of(P, model.b), y)

    train_both(model, oracle, loss_fn, batches_of(lambda i: (randn(8, 5, seed=i),) * 2))
    assert all(np.array_equal(a, b) for a, b in zip(frozen, model.encoder.get_weights()))


def test_a_weight_beside_a_symbolic_tensor_in_a_functional_model_trains():
    """Outside any call(): ops.matmul(h, other.kernel) reads the weight into the graph as well."""
    x_in = ks.Input((4,))
    first, second = Dense(3, activation="tanh", name="first"), Dense(3, name="second")
    second.build((None, 3))
    out = ops.matmul(first(x_in), second.kernel) + second.bias
    model = ks.Model(x_in, out)
    assert [w.name for w in model.weights] == ["first/kernel", "first/bias", "second/kernel",
                                               "second/bias"]
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        return mse(dense(P[second], dense(P[first], x, torch.tanh)), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 4, seed=i), randn(8, 3, seed=100 + i))))


# ----- the graph and the rest of the API -----------------------------------------------------------
def test_one_read_node_per_weight_and_call_and_no_params_counted_twice():
    x_in = ks.Input((4,))
    layer = WeightMath(3)
    model = ks.Model(x_in, layer(x_in))
    reads = [n.layer for n in layer._call_graph.nodes if type(n.layer).__name__ == "WeightRead"]
    assert sorted(r.weight.name.split("/")[-1] for r in reads) == ["variable", "variable_1",
                                                                   "variable_2"]
    assert all(r.count_params() == 0 for r in reads)
    assert model.count_params() == layer.count_params() == 4 * 3 + 3 + 3
    x_in = ks.Input((5,))
    enc, dec = Dense(3, name="enc"), Dense(5, name="dec")
    dec.build((None, 3))
    functional = ks.Model(x_in, ops.matmul(enc(x_in), dec.kernel))  # dec read, never called
    lines = []
    functional.summary(print_fn=lines.append)
    rows = {line.split()[1]: line.split()[-2] for line in lines if "(" in line and ")" in line}
    assert rows["(WeightRead)"] == "0" and rows["(Dense)"] == "18"  # dec's kernel: in the totals
    assert "Total params: 33" in lines and functional.count_params() == 18 + 15


def test_weight_arithmetic_on_data_gives_tensors_as_keras_variables_do():
    layer = Dense(3)
    layer.build((None, 2))
    w, v, ones = layer.kernel, layer.kernel.value, torch.ones(3, 2, dtype=layer.kernel.value.dtype)
    for got, want in [(w * 2.0, v * 2.0), (1.0 - w, 1.0 - v), (w / 4, v / 4), (-w, -v),
                      (abs(w), v.abs()), (w ** 2, v ** 2), (w[0], v[0]), (ones @ w, ones @ v),
                      (w + layer.bias, v + layer.bias.value)]:
        assert isinstance(got, torch.Tensor)
        torch.testing.assert_close(got, want)
    assert np.array_equal(np.asarray(w), v.numpy())
    assert w == w and w != layer.bias and len({w, layer.bias}) == 2  # identity, still hashable


def test_a_tied_layer_saves_and_loads(tmp_path):
    @ks.saving.register_keras_serializable(package="tests_weight_reads")
    class Tied(ks.layers.Layer):
        def __init__(self, code=3, **kwargs):
            super().__init__(**kwargs)
            self.code = code
            self.encoder = Dense(code, activation="tanh")

        def call(self, x):
            return ops.matmul(self.encoder(x), ops.transpose(self.encoder.kernel))

        def get_config(self):
            return {**super().get_config(), "code": self.code}

    x_in = ks.Input((5,))
    model = ks.Model(x_in, Tied(name="tied")(x_in))
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss="mse")
    data = np.random.default_rng(0).normal(size=(16, 5))
    model.fit(data, data, verbose=0)
    model.save(tmp_path / "tied.keras")
    again = ks.models.load_model(tmp_path / "tied.keras")
    np.testing.assert_allclose(again.predict(data, verbose=0), model.predict(data, verbose=0),
                               rtol=0, atol=1e-12)


def test_a_subclassed_model_with_its_own_build_saves_and_loads(tmp_path):
    @ks.saving.register_keras_serializable(package="tests_weight_reads")
    class SavedTied(TiedAutoencoder):
        def __init__(self, code=3, **kwargs):
            super().__init__(code, **kwargs)
            self.code = code

        def get_config(self):
            return {"code": self.code, "name": self.name}

    model = SavedTied(name="saved_tied")
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss="mse")
    data = np.random.default_rng(0).normal(size=(16, 5))
    model.fit(data, data, verbose=0)
    model.save(tmp_path / "m.keras")
    again = ks.models.load_model(tmp_path / "m.keras")
    assert [w.name for w in again.weights] == ["saved_tied/b", "encoder/kernel", "encoder/bias"]
    np.testing.assert_allclose(again.predict(data, verbose=0), model.predict(data, verbose=0),
                               rtol=0, atol=1e-12)
