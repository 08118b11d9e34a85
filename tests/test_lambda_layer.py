"""`ks.layers.Lambda`: a function traced into graph nodes (its gradients: test_graph_oracle.py),
its checks, and its refusal to be saved."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense, Lambda


def test_on_data_it_computes_the_function():
    layer = Lambda(lambda t, k: ks.ops.tanh(t) * k, arguments={"k": 3.0})
    x = torch.randn(4, 5)
    torch.testing.assert_close(layer(x), torch.tanh(x) * 3.0)
    torch.testing.assert_close(layer(x.numpy()), torch.tanh(x) * 3.0)  # NumPy in, as Keras


def test_shapes_come_from_the_traced_function():
    x = ks.Input((6,))
    assert tuple(Lambda(lambda t: ks.ops.reshape(t, (-1, 2, 3)))(x).shape) == (None, 2, 3)
    assert tuple(Lambda(lambda t: ks.ops.sum(t, axis=-1, keepdims=True))(x).shape) == (None, 1)
    assert tuple(Lambda(lambda t: t, output_shape=(6,))(x).shape) == (None, 6)
    with pytest.raises(ValueError, match=r"output_shape=\(5,\).*returns shape \(None, 6\)"):
        Lambda(lambda t: t, output_shape=(5,))(x)


def test_in_a_sequential_model_it_trains():
    model = ks.Sequential([ks.Input((4,)), Dense(3), Lambda(lambda t: ks.ops.tanh(t) * 2.0)])
    model.compile(ks.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.zeros((32, 3), "float32")
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_a_torch_function_is_refused_with_the_ops_that_work():
    with pytest.raises(TypeError, match=r"(?s)Lambda 'exp_fn' could not be traced.*KerasTensor"
                                        r".*ks\.ops\.exp.*layers"):
        Lambda(lambda t: torch.exp(t), name="exp_fn")(ks.Input((3,)))
    with pytest.raises(TypeError, match=r"ks\.ops\.argmax has no gradient"):
        Lambda(lambda t: ks.ops.argmax(t, axis=-1))(ks.Input((3,)))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"function": 3}, TypeError, "Invalid function: expected a callable, received int"),
    ({"function": abs, "mask": lambda x, m: m}, ValueError, "Invalid mask: kerasette has no masking"),
    ({"function": abs, "arguments": [1]}, TypeError, "Invalid arguments: expected a dict"),
    ({"function": abs, "output_shape": (0,)}, ValueError, "Invalid output_shape"),
])
def test_bad_arguments_name_themselves(kwargs, error, match):
    with pytest.raises(error, match=match):
        Lambda(**kwargs)


def test_a_model_with_a_lambda_is_not_saved(tmp_path):
    x = ks.Input((3,))
    model = ks.Model(x, Lambda(lambda t: t * 2.0, name="double")(Dense(2)(x)))
    with pytest.raises(TypeError, match=r"Lambda 'double' cannot be saved.*save_weights"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    with pytest.raises(TypeError, match="cannot be saved"):
        model.to_json()
    model.save_weights(tmp_path / "w.weights.pt")  # the weights can be, as the message says
    with pytest.raises(TypeError, match="cannot be rebuilt from a config"):
        ks.layers.deserialize({"class_name": "Lambda", "config": {"name": "double"}})
