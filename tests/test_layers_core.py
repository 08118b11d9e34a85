"""Input, Flatten, the layer registry (get / serialize / deserialize), and, for every layer,
compute_output_shape and the get_config -> from_config round trip."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette
from kerasette import layers
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=25, deadline=None)


pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


# ---- Input -----------------------------------------------------------------------------------
def test_input_is_a_symbolic_tensor_from_an_identity_layer():
    t = layers.Input(shape=(2,))  # Keras 3: a KerasTensor with the batch dimension as None
    assert type(t).__name__ == "KerasTensor" and t.shape == (None, 2)
    assert layers.Input([3, 4]).shape == (None, 3, 4)
    inp = t.node.layer
    assert isinstance(inp, layers.InputLayer) and inp.shape == (2,) and inp.built
    assert inp.output is t
    x, dy = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    y, backward = inp.forward(x)
    assert y is x and backward(dy) is dy
    assert inp.compute_output_shape((None, 2)) == (None, 2)
    assert inp(x) is x


def test_input_checks_the_data_shape():
    inp = layers.InputLayer((2,), name="features")
    with pytest.raises(ValueError, match=r"features.*\(None, 2\).*\(5, 3\)"):
        inp(torch.zeros(5, 3))


@pytest.mark.parametrize("shape", [2, (0,), (2.5,), (True,), "2", (2, -1), None])
def test_input_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="shape"):
        layers.Input(shape)


# ---- Flatten ---------------------------------------------------------------------------------
@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple),
       seed=st.integers(0, 2**31 - 1))
def test_flatten_matches_torch(shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    layer = layers.Flatten()
    y, backward = layer.forward(x)
    torch.testing.assert_close(y, torch.flatten(x, 1) if x.dim() > 1 else x.reshape(-1, 1))
    assert y.shape == (shape[0], math.prod(shape[1:]))
    dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    x_ref = x.clone().requires_grad_(True)
    x_ref.reshape(y.shape).backward(dy)
    torch.testing.assert_close(backward(dy), x_ref.grad)
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *y.shape[1:])
    assert check_gradients(layer, x, seed=seed)["input"] < 1e-6


def test_flatten_output_shape_with_unknown_dims():
    assert layers.Flatten().compute_output_shape((None, 2, 3, 4)) == (None, 24)
    assert layers.Flatten().compute_output_shape((None, None, 3)) == (None, None)
    assert layers.Flatten().compute_output_shape((8,)) == (8, 1)


# ---- every layer: output shapes and config round trips ---------------------------------------
def all_layers():
    return [
        layers.InputLayer((3, 4)), layers.Dense(5), layers.Dense(2, activation="gelu", use_bias=False),
        layers.Activation("softplus"), layers.ReLU(), layers.LeakyReLU(0.1), layers.ELU(0.7),
        layers.Tanh(), layers.Sigmoid(), layers.Softmax(axis=1), layers.GELU(), layers.Softplus(),
        layers.Dropout(0.3, seed=4), layers.Flatten(name="flat", trainable=False),
    ]


@pytest.mark.parametrize("layer", all_layers(), ids=lambda layer: type(layer).__name__)
def test_compute_output_shape_matches_forward(layer):
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    y = layer(x)
    assert layer.compute_output_shape((None, 3, 4)) == (None, *y.shape[1:])
    assert layer.compute_output_shape((2, 3, 4)) == tuple(y.shape)


@pytest.mark.parametrize("layer", all_layers(), ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config_ = layer.get_config()
    clone = type(layer).from_config(config_)
    assert type(clone) is type(layer) and clone.get_config() == config_
    spec = layers.serialize(layer)
    assert spec == {"class_name": type(layer).__name__, "config": config_}
    rebuilt = layers.deserialize(spec)
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == config_


def test_registry():
    assert layers.get("Dense") is layers.Dense and layers.get("InputLayer") is layers.InputLayer
    with pytest.raises(ValueError, match="Nope") as info:
        layers.get("Nope")
    assert "Dense" in str(info.value) and "Flatten" in str(info.value)
    with pytest.raises(TypeError, match="class_name"):
        layers.get(layers.Dense)
    with pytest.raises(ValueError, match="spec"):
        layers.deserialize({"config": {}})
    with pytest.raises(TypeError, match="layer"):
        layers.serialize("Dense")
    with pytest.raises(TypeError, match="cls"):
        layers.register(int)


def test_unregistered_subclasses_must_be_registered_or_given_to_deserialize():
    class Scaled(layers.Layer):
        def forward(self, x, training=False):
            return 2 * x, lambda dy: 2 * dy

    spec = layers.serialize(Scaled())  # written as Keras writes it: class and module names
    assert spec["class_name"] == "Scaled" and spec["module"] == __name__
    with pytest.raises(ValueError, match="Unknown layer class_name: 'Scaled'.*custom_objects"):
        layers.deserialize(spec)  # a class local to a function is in no module
    with kerasette.saving.custom_object_scope({"Scaled": Scaled}):
        assert isinstance(layers.deserialize(spec), Scaled)
    assert layers.register(Scaled) is Scaled
    assert isinstance(layers.deserialize(layers.serialize(Scaled(name="s"))), Scaled)


def test_public_names():
    for name in layers.__all__:
        assert hasattr(layers, name)
