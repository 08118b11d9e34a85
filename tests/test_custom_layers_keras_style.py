"""Custom layers written the Keras way: `add_weight` in `build`, ops on the weights in `call`
(their gradients against autograd: test_graph_oracle.py and test_weight_reads.py). A weight used
in a way that cannot carry its gradient is refused at trace time instead of training as a
constant."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette import ops


class Linear(ks.layers.Layer):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                 trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def fit_once(model, seed=0):
    rng = np.random.default_rng(seed)
    model.compile(ks.optimizers.SGD(0.1), "mse")
    model.fit(rng.normal(size=(16, 3)).astype("float32"),
              rng.normal(size=(16, model.output_shape[-1])).astype("float32"), verbose=0)


def test_the_weights_of_a_keras_style_layer_train():
    layer = Linear(4)
    x = ks.Input((3,))
    model = ks.Model(x, layer(x))
    before = [w.copy() for w in layer.get_weights()]
    fit_once(model)
    assert all(not np.allclose(a, b) for a, b in zip(before, layer.get_weights()))
    data = torch.randn(5, 3)
    w, b = (torch.as_tensor(v) for v in layer.get_weights())
    torch.testing.assert_close(model.predict(data, verbose=0), data @ w + b)


def test_a_frozen_keras_style_layer_stays_put():
    layer, head = Linear(4), ks.layers.Dense(2)
    x = ks.Input((3,))
    model = ks.Model(x, head(layer(x)))
    layer.trainable = False
    before, head_before = layer.get_weights(), head.get_weights()
    fit_once(model)
    assert all(np.array_equal(a, b) for a, b in zip(before, layer.get_weights()))
    assert not np.allclose(head_before[0], head.get_weights()[0])


@pytest.mark.parametrize("use", [
    lambda self, x: ops.matmul(x, ops.exp(self.w)),
    lambda self, x: ops.matmul(x, ops.transpose(ops.transpose(self.w))),
    lambda self, x: ops.matmul(x, self.w * 2.0) - self.b ** 2 + self.w[0],
], ids=["exp", "transpose", "operators"])
def test_any_differentiable_use_of_a_weight_trains_it(use):
    class Uses(Linear):
        def call(self, inputs):
            return use(self, inputs)

    layer = Uses(3)
    x = ks.Input((3,))
    model = ks.Model(x, layer(x))
    before = [w.copy() for w in layer.get_weights()]
    fit_once(model)
    after = layer.get_weights()
    assert not np.allclose(before[0], after[0])
    data = torch.randn(5, 3)
    w, b = (torch.as_tensor(v) for v in after)
    want = use(type("Values", (), {"w": w, "b": b})(), data)  # the same math on plain tensors
    torch.testing.assert_close(model.predict(data, verbose=0), want)


def test_a_weights_value_tensor_is_refused_naming_the_layer_and_the_weight():
    class Bad(Linear):
        def call(self, inputs):
            return ops.matmul(inputs, self.w.value)

    with pytest.raises(TypeError, match=r"'bad'\.call\(\) uses 'bad/variable'\.value.*self\.w, "
                                        r"not self\.w\.value"):
        Bad(name="bad")(ks.Input((3,)))


def test_an_op_without_a_gradient_on_a_weight_is_refused():
    class Bad(Linear):
        def call(self, inputs):
            return ops.matmul(inputs, self.w) + ops.argmax(self.w, axis=0)

    with pytest.raises(TypeError, match=r"argmax has no gradient.*a layer's weight in a traced"):
        Bad(name="bad_argmax")(ks.Input((3,)))


def test_converting_a_weight_while_tracing_is_refused():
    class Bad(Linear):
        def call(self, inputs):
            return inputs * ops.convert_to_tensor(self.b)

    with pytest.raises(TypeError, match=r"'bad_convert'\.call\(\) uses the weight "
                                        r"'bad_convert/variable_1' through an op that would read"):
        Bad(name="bad_convert")(ks.Input((3,)))


def test_add_weight_takes_keras_3_spellings():
    layer = ks.layers.Layer(name="keras3")
    w = layer.add_weight(shape=(2, 3), initializer="ones")
    v = layer.add_weight((4,), initializer="zeros")  # Keras 3's positional shape
    s = layer.add_weight(name="s", initializer="zeros")  # no shape: a scalar
    k = layer.add_weight("k", (2,), "zeros")  # kerasette's and Keras 2's name-first order
    assert [x.name for x in (w, v, s, k)] == ["keras3/variable", "keras3/variable_1", "keras3/s",
                                               "keras3/k"]
    assert w.shape == (2, 3) and v.shape == (4,) and s.shape == () and k.shape == (2,)
    assert torch.equal(w.value, torch.ones(2, 3))
    layer.add_weight(shape=(1,), dtype=ks.config.floatx(), autocast=False, aggregation="mean")
    with pytest.raises(ValueError, match="Invalid dtype"):
        layer.add_weight(shape=(1,), dtype="float16")
    with pytest.raises(TypeError, match="Invalid name"):
        layer.add_weight(name=3, shape=(1,))


def test_a_registered_keras_style_layer_saves_and_loads(tmp_path):
    registered = ks.saving.register_keras_serializable(package="tests")(Linear)
    x = ks.Input((3,))
    model = ks.Model(x, registered(4, name="lin")(x))
    fit_once(model)
    model.save(tmp_path / "m.keras")
    again = ks.models.load_model(tmp_path / "m.keras")
    data = torch.randn(4, 3)
    torch.testing.assert_close(again.predict(data, verbose=0), model.predict(data, verbose=0))
