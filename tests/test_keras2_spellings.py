"""Keras 2 spellings that copied scripts use and Keras 3 still accepts (input_dim, input_shape,
batch_input_shape, dtype on every layer), and those Keras 3 removed (refused, naming the Keras 3
spelling)."""

import pytest
import torch

import kerasette as ks
from kerasette import layers


def fit_once(model, n_in):
    model.compile(optimizer="sgd", loss="mse")
    model.fit(torch.randn(16, n_in), torch.randn(16, 1), epochs=1, verbose=0)
    return model


def test_dense_input_dim_starts_a_sequential_model():
    model = ks.Sequential([layers.Dense(32, input_dim=8, activation="relu"), layers.Dense(1)])
    assert model.get_layer(index=0).input_shape_arg == (8,)
    fit_once(model, 8)
    assert model.layers[0].kernel.shape == (8, 32)


@pytest.mark.parametrize("make", [
    lambda: layers.Dropout(0.2, input_dim=4),
    lambda: layers.Activation("relu", input_dim=4),
    lambda: layers.ReLU(input_dim=4),
    lambda: layers.LeakyReLU(0.1, input_dim=4),
    lambda: layers.ELU(input_dim=4),
    lambda: layers.Tanh(input_dim=4),
    lambda: layers.Sigmoid(input_dim=4),
    lambda: layers.Softmax(input_dim=4),
    lambda: layers.Flatten(input_dim=4),
])
def test_input_dim_works_on_every_layer(make):
    first = make()
    assert first.input_shape_arg == (4,)
    fit_once(ks.Sequential([first, layers.Dense(1)]), 4)


def test_input_dim_and_input_shape_must_agree():
    assert layers.Dense(2, input_dim=3, input_shape=(3,)).input_shape_arg == (3,)
    with pytest.raises(ValueError, match="input_dim"):
        layers.Dense(2, input_dim=3, input_shape=(4,))
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(ValueError, match="input_dim"):
            layers.Dense(2, input_dim=bad)


def test_dtype_is_accepted_when_it_is_floatx():
    assert layers.Dense(2, dtype="float32").name.startswith("dense")
    assert layers.Dropout(0.5, dtype=torch.float32).rate == 0.5
    with pytest.raises(ValueError, match=r"dtype.*set_floatx\('float64'\)"):
        layers.Dense(2, dtype="float64")
    with pytest.raises(ValueError, match="dtype"):
        layers.Dense(2, dtype="mixed_float16")


def test_unknown_layer_arguments_are_type_errors_naming_them():
    with pytest.raises(TypeError, match="input_dims"):
        layers.Dense(2, input_dims=3)


@pytest.mark.parametrize("make", [
    lambda: layers.InputLayer(input_shape=(28, 28)),
    lambda: layers.InputLayer(shape=(28, 28)),
    lambda: layers.InputLayer(batch_input_shape=(None, 28, 28)),
    lambda: layers.InputLayer(batch_shape=(None, 28, 28)),
    lambda: ks.Input(batch_shape=(None, 28, 28)),
    lambda: ks.Input(shape=(28, 28), batch_size=None, dtype="float32", sparse=False),
])
def test_input_layer_spellings(make):
    first = make()  # an InputLayer, or the symbolic tensor ks.Input returns
    assert tuple(first.shape) == ((28, 28) if isinstance(first, layers.InputLayer)
                                  else (None, 28, 28))
    model = ks.Sequential([first, layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(torch.randn(8, 28, 28), torch.randn(8, 1), epochs=1, verbose=0)


def test_input_layer_batch_size_and_dtype_are_recorded():
    layer = layers.InputLayer(batch_input_shape=(32, 5))
    assert layer.batch_size == 32 and layer.get_config()["batch_size"] == 32
    again = layers.InputLayer.from_config(layer.get_config())
    assert again.shape == (5,) and again.batch_size == 32
    assert layers.InputLayer((3,), dtype="int32").get_config()["dtype"] == "int32"


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"shape": (3,), "batch_shape": (None, 3)}, ValueError, "batch_shape"),
    ({"shape": (3,), "input_shape": (3,)}, ValueError, "input_shape"),
    ({"batch_shape": (3,)}, ValueError, "batch_shape"),
    ({"batch_shape": (4, 3), "batch_size": 4}, ValueError, "batch_size"),
    ({"shape": (3,), "batch_size": 0}, ValueError, "batch_size"),
    ({"shape": (3,), "sparse": True}, TypeError, "sparse"),
    ({"shape": (0,)}, ValueError, "shape"),
    ({"shape": None}, ValueError, "shape"),
])
def test_input_layer_bad_spellings(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        layers.InputLayer(**kwargs)


def test_removed_optimizer_spellings_name_the_keras3_one():
    with pytest.raises(TypeError, match="learning_rate=0.01"):
        ks.optimizers.SGD(lr=0.01, momentum=0.9)
    with pytest.raises(TypeError, match="InverseTimeDecay"):
        ks.optimizers.SGD(learning_rate=0.01, decay=1e-6)
