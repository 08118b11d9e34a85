"""Dense: finite differences, the torch autograd oracle (F.linear with W.T), hypothesis shapes,
gradient accumulation, frozen weights, shape checks, argument validation and config round trips."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kerasette import activations, initializers, layers
from kerasette.graph import forward_logits
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=25, deadline=None)

TORCH_ACT = {
    None: lambda z: z, "relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "softmax": lambda z: F.softmax(z, dim=-1), "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "elu": F.elu, "gelu": F.gelu, "softplus": F.softplus, "linear": lambda z: z,
}
ACTIVATIONS = list(TORCH_ACT)


pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def randn(g, *shape):
    return torch.randn(shape, generator=g, dtype=torch.float64)


def torch_dense(x, W, b, activation, dy):
    """The oracle: the same layer written with torch ops, differentiated by autograd."""
    x, W = x.clone().requires_grad_(True), W.clone().requires_grad_(True)
    b = None if b is None else b.clone().requires_grad_(True)
    y = TORCH_ACT[activation](F.linear(x, W.T, b))
    y.backward(dy)
    return y.detach(), x.grad, W.grad, None if b is None else b.grad


dense_cases = st.fixed_dictionaries({
    "batch": st.sampled_from([1, 2, 3, 5]),
    "lead": st.lists(st.integers(1, 3), max_size=2),       # extra leading dims: rank 2 to 4
    "in_features": st.integers(1, 8),
    "units": st.integers(1, 8),
    "activation": st.sampled_from(ACTIVATIONS),
    "use_bias": st.booleans(),
    "seed": st.integers(0, 2**31 - 1),
})


def build_case(case):
    g = torch.Generator().manual_seed(case["seed"])
    layer = layers.Dense(case["units"], activation=case["activation"], use_bias=case["use_bias"],
                         kernel_initializer=initializers.RandomNormal(seed=case["seed"]),
                         bias_initializer=initializers.RandomNormal(seed=case["seed"] + 1))
    x = randn(g, case["batch"], *case["lead"], case["in_features"])
    layer(x)  # build
    return layer, x, g


# ---- (1) finite differences ------------------------------------------------------------------
@SETTINGS
@given(case=dense_cases)
def test_check_gradients(case):
    layer, x, _ = build_case(case)
    # moderate pre-activations: finite differences of a saturated tanh/sigmoid are pure rounding
    layer.kernel.assign(layer.kernel.value * 0.5)
    # keep pre-activations off relu's kink at 0, where a +-eps nudge crosses it
    assume(forward_logits(layer, x, False)[0].abs().min() > 1e-4)
    errors = check_gradients(layer, x, seed=case["seed"])
    expected = {"input", f"{layer.name}/kernel"} | ({f"{layer.name}/bias"} if case["use_bias"]
                                                     else set())
    assert set(errors) == expected
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_check_gradients_each_activation(activation):
    layer = layers.Dense(4, activation=activation, bias_initializer="random_normal")
    x = randn(torch.Generator().manual_seed(0), 3, 5)
    errors = check_gradients(layer, x)
    assert len(errors) == 3 and max(errors.values()) < 1e-6, errors


# ---- (2) autograd oracle and (4) F.linear forward, (3) over hypothesis shapes ----------------
@SETTINGS
@given(case=dense_cases)
def test_matches_torch_autograd(case):
    layer, x, g = build_case(case)
    W = layer.kernel.value.clone()
    b = layer.bias.value.clone() if case["use_bias"] else None

    y, backward = layer.forward(x)
    dy = randn(g, *y.shape)
    dx = backward(dy)

    y_ref, dx_ref, dW_ref, db_ref = torch_dense(x, W, b, case["activation"], dy)
    assert y.shape == (case["batch"], *case["lead"], case["units"])
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(dx, dx_ref)
    torch.testing.assert_close(layer.kernel.grad, dW_ref)
    if b is not None:
        torch.testing.assert_close(layer.bias.grad, db_ref)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])


@SETTINGS
@given(case=dense_cases)
def test_forward_logits_returns_the_pre_activation(case):
    # the loss heads' fused path: the layer runs without its final activation
    layer, x, g = build_case(case)
    b = layer.bias.value if case["use_bias"] else None
    act = layer.activation
    z, backward = forward_logits(layer, x, False)
    assert layer.activation is act  # restored at once
    dz = randn(g, *z.shape)
    dx = backward(dz)
    z_ref, dx_ref, dW_ref, db_ref = torch_dense(x, layer.kernel.value, b, None, dz)
    torch.testing.assert_close(z, z_ref)
    torch.testing.assert_close(dx, dx_ref)
    torch.testing.assert_close(layer.kernel.grad, dW_ref)
    if b is not None:
        torch.testing.assert_close(layer.bias.grad, db_ref)


@SETTINGS
@given(case=dense_cases)
def test_overwrite_writes_the_gradients_that_accumulation_adds(case):
    # backward(dy, overwrite=True) (the executor's first write of a step) == zero-fill + add
    layer, x, g = build_case(case)
    y, backward = layer.forward(x)
    dy = randn(g, *y.shape)
    dx = backward(dy)
    expected = [w.grad.clone() for w in layer.weights]
    for w in layer.weights:
        w.grad.fill_(123.0)  # stale values must be overwritten, not added to
    dx2 = backward(dy, overwrite=True)
    torch.testing.assert_close(dx2, dx, rtol=0, atol=0)
    for w, e in zip(layer.weights, expected):
        torch.testing.assert_close(w.grad, e, rtol=0, atol=0)


def test_kernel_layout_is_keras_in_by_units():
    layer = layers.Dense(3)
    layer(torch.zeros(2, 5, dtype=torch.float64))
    assert layer.kernel.shape == (5, 3) and layer.bias.shape == (3,)
    assert [w.shape for w in layer.get_weights()] == [(5, 3), (3,)]
    assert layer.kernel.value.dtype == torch.float64  # follows floatx
    x = torch.randn(2, 5, dtype=torch.float64)
    layer.set_weights([torch.arange(15.0).reshape(5, 3), torch.ones(3)])
    torch.testing.assert_close(layer(x), x @ torch.arange(15.0, dtype=torch.float64).reshape(5, 3)
                               + 1)


# ---- accumulation and frozen weights ---------------------------------------------------------
def test_gradients_accumulate():
    g = torch.Generator().manual_seed(1)
    layer = layers.Dense(3, activation="tanh")
    x = randn(g, 4, 2)
    layer(x)
    y, backward = layer.forward(x)
    dy = randn(g, *y.shape)
    dx1 = backward(dy)
    once = [layer.kernel.grad.clone(), layer.bias.grad.clone()]
    dx2 = backward(dy)
    torch.testing.assert_close(layer.kernel.grad, 2 * once[0])
    torch.testing.assert_close(layer.bias.grad, 2 * once[1])
    torch.testing.assert_close(dx1, dx2)  # dx is returned, never accumulated


@pytest.mark.parametrize("how", ["constructor", "layer_setter", "kernel_only"])
def test_frozen_weights_get_no_gradient_but_dx_is_right(how):
    g = torch.Generator().manual_seed(2)
    layer = layers.Dense(3, activation="sigmoid", trainable=(how != "constructor"),
                         bias_initializer="random_normal")
    x = randn(g, 4, 2)
    layer(x)
    if how == "layer_setter":
        layer.trainable = False
    elif how == "kernel_only":
        layer.kernel.trainable = False
    y, backward = layer.forward(x)
    dy = randn(g, *y.shape)
    dx = backward(dy)
    _, dx_ref, _, db_ref = torch_dense(x, layer.kernel.value, layer.bias.value, "sigmoid", dy)
    torch.testing.assert_close(dx, dx_ref)
    assert torch.count_nonzero(layer.kernel.grad) == 0
    if how == "kernel_only":
        torch.testing.assert_close(layer.bias.grad, db_ref)
        assert set(check_gradients(layer, x)) == {"input", f"{layer.name}/bias"}
    else:
        assert torch.count_nonzero(layer.bias.grad) == 0
        assert layer.trainable_weights == []


# ---- shapes and arguments --------------------------------------------------------------------
def test_shape_mismatch_after_build_names_layer_and_shapes():
    layer = layers.Dense(2, name="probe")
    layer(torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError) as info:
        layer(torch.zeros(4, 5, dtype=torch.float64))
    message = str(info.value)
    assert "probe" in message and "(None, 3)" in message and "(4, 5)" in message


def test_rank_one_input_is_rejected():
    with pytest.raises(ValueError, match="features"):
        layers.Dense(2)(torch.zeros(3, dtype=torch.float64))


@pytest.mark.parametrize("units", [0, 2.5, -3, True, "4", None])
def test_bad_units(units):
    with pytest.raises(ValueError, match=f"units.*{units!r}"):
        layers.Dense(units)


def test_bad_arguments_name_the_argument_and_the_choices():
    with pytest.raises(ValueError, match="relux") as info:
        layers.Dense(4, activation="relux")
    assert "relu" in str(info.value).replace("relux", "") and "softmax" in str(info.value)
    with pytest.raises(ValueError, match="nope") as info:
        layers.Dense(4, kernel_initializer="nope")
    assert "glorot_uniform" in str(info.value)
    with pytest.raises(ValueError, match="nope"):
        layers.Dense(4, bias_initializer="nope")
    with pytest.raises(TypeError, match="use_bias"):
        layers.Dense(4, use_bias="yes")
    with pytest.raises(TypeError, match="name"):
        layers.Dense(4, name=3)


def test_torch_default_bias_uses_the_layers_fan_in():
    layer = layers.Dense(64, kernel_initializer="torch_default", bias_initializer="torch_default")
    layer(torch.zeros(1, 100, dtype=torch.float64))
    bound = 1 / 100 ** 0.5  # torch.Linear: U(+-1/sqrt(in_features)) for weight and bias
    assert layer.kernel.value.abs().max() <= bound and layer.bias.value.abs().max() <= bound
    assert layer.bias.value.abs().max() > bound / 2


# ---- config ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"units": 3},
    {"units": 5, "activation": "softmax", "use_bias": False, "name": "head", "trainable": False},
    {"units": 2, "activation": activations.LeakyReLU(0.2),
     "kernel_initializer": initializers.GlorotNormal(gain=2.0, seed=3),
     "bias_initializer": initializers.Constant(0.5)},
])
def test_config_round_trip(kwargs):
    layer = layers.Dense(**kwargs)
    config_ = layer.get_config()
    clone = layers.Dense.from_config(config_)
    assert clone.get_config() == config_
    assert clone.activation == layer.activation
    assert layers.deserialize(layers.serialize(layer)).get_config() == config_
    # the rebuilt initializers draw the same weights when seeded
    if "kernel_initializer" in kwargs:
        x = torch.zeros(1, 4, dtype=torch.float64)
        layer(x), clone(x)
        torch.testing.assert_close(layer.kernel.value, clone.kernel.value)
        torch.testing.assert_close(clone.bias.value, torch.full((2,), 0.5, dtype=torch.float64))
