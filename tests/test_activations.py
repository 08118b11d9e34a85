"""Activation functions (kerasette.activations) and the activation layers that wrap them.

Each is checked four ways: finite differences (check_gradients), the torch autograd oracle on the
same math, hypothesis properties over shapes and values, and the torch.nn.functional forward.
"""

import math
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from kinks import away_from

from kerasette import activations, layers
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=25, deadline=None)

# name -> (torch reference, activation layer factory)
REFERENCE = {
    "relu": (F.relu, layers.ReLU),
    "tanh": (torch.tanh, layers.Tanh),
    "sigmoid": (torch.sigmoid, layers.Sigmoid),
    "softmax": (lambda x: F.softmax(x, dim=-1), layers.Softmax),
    "leaky_relu": (lambda x: F.leaky_relu(x, negative_slope=0.01), layers.LeakyReLU),
    "elu": (F.elu, layers.ELU),
    "gelu": (lambda x: F.gelu(x, approximate="none"), layers.GELU),
    "softplus": (F.softplus, layers.Softplus),
    "linear": (lambda x: x * 1, lambda: layers.Activation("linear")),
}
NAMES = sorted(REFERENCE)


pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def make_target(name, kind):
    """The activation function, or the layer wrapping it."""
    return activations.get(name) if kind == "function" else REFERENCE[name][1]()


def run_forward(target, x):
    """(y, backward) for a function object or a layer."""
    return target.forward(x) if kind_of(target) == "function" else target.forward(x, training=True)


def kind_of(target):
    return "function" if isinstance(target, activations.ActivationFunction) else "layer"


shapes = st.lists(st.integers(1, 8), min_size=1, max_size=3).map(tuple)
arrays = shapes.flatmap(lambda s: hnp.arrays(
    np.float64, s, elements=st.floats(-30, 30, allow_nan=False, allow_infinity=False)))


# ---- (1) finite differences ------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["function", "layer"])
@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_check_gradients(name, kind, shape, seed):
    g = torch.Generator().manual_seed(seed)
    # |x| <= 4: further out tanh/sigmoid are so flat that finite differences of their rounded
    # values lose the digits we compare (the autograd oracle below covers the tails exactly)
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * 2).clamp(-4, 4)
    x = away_from(x, [0.0])  # off the kink at 0 of relu / leaky_relu, where a +-eps nudge crosses it
    errors = check_gradients(make_target(name, kind), x, seed=seed)
    assert set(errors) == {"input"}
    assert errors["input"] < 1e-6


# ---- (2) torch autograd oracle and (4) torch.nn.functional forward ---------------------------
@pytest.mark.parametrize("kind", ["function", "layer"])
@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(x=arrays, seed=st.integers(0, 2**31 - 1))
def test_matches_torch_autograd(name, kind, x, seed):
    x = torch.from_numpy(x)
    x_before = x.clone()
    dy = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)

    y, backward = run_forward(make_target(name, kind), x)
    dx = backward(dy)

    x_ref = x.clone().requires_grad_(True)
    y_ref = REFERENCE[name][0](x_ref)
    y_ref.backward(dy)
    torch.testing.assert_close(y, y_ref.detach())
    torch.testing.assert_close(dx, x_ref.grad)
    torch.testing.assert_close(x, x_before, rtol=0, atol=0)  # the input is not modified


# ---- (3) properties --------------------------------------------------------------------------
@SETTINGS
@given(x=arrays)
def test_softmax_rows_are_distributions(x):
    y = activations.softmax(torch.from_numpy(x))
    assert (y >= 0).all()
    torch.testing.assert_close(y.sum(-1), torch.ones(x.shape[:-1], dtype=torch.float64))


@SETTINGS
@given(x=arrays)
def test_sigmoid_and_tanh_ranges_and_symmetry(x):
    x = torch.from_numpy(x)
    s, t = activations.sigmoid(x), activations.tanh(x)
    assert ((s >= 0) & (s <= 1)).all() and ((t >= -1) & (t <= 1)).all()
    torch.testing.assert_close(s + activations.sigmoid(-x), torch.ones_like(x))
    torch.testing.assert_close(t, -activations.tanh(-x))


@SETTINGS
@given(x=arrays)
def test_relu_family_agrees_on_positive_inputs(x):
    x = torch.from_numpy(x).abs() + 1e-3
    for name in ("relu", "leaky_relu", "elu", "linear"):
        torch.testing.assert_close(activations.get(name)(x), x)


@pytest.mark.parametrize("axis", [0, 1, 2, -2])
@SETTINGS
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
       seed=st.integers(0, 2**31 - 1))
def test_softmax_other_axes(axis, shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * 2).clamp(-4, 4)
    dy = torch.randn(shape, generator=g, dtype=torch.float64)
    for target in (activations.Softmax(axis), layers.Softmax(axis=axis)):
        y, backward = run_forward(target, x)
        x_ref = x.clone().requires_grad_(True)
        y_ref = F.softmax(x_ref, dim=axis)
        y_ref.backward(dy)
        torch.testing.assert_close(y, y_ref.detach())
        torch.testing.assert_close(backward(dy), x_ref.grad)
        assert check_gradients(target, x, seed=seed)["input"] < 1e-6


@pytest.mark.parametrize("slope,alpha", [(0.2, 0.5), (0.0, 2.0)])
def test_non_default_parameters_match_torch(slope, alpha):
    x = torch.linspace(-4, 4, 17, dtype=torch.float64)
    torch.testing.assert_close(layers.LeakyReLU(slope)(x), F.leaky_relu(x, slope))
    torch.testing.assert_close(layers.ELU(alpha)(x), F.elu(x, alpha))
    for target in (activations.LeakyReLU(slope), activations.ELU(alpha)):
        assert check_gradients(target, x + 0.05)["input"] < 1e-6


def test_defaults_are_the_seeds_and_pytorchs():
    assert activations.get("leaky_relu").negative_slope == 0.01
    assert layers.LeakyReLU().activation.negative_slope == 0.01
    assert layers.ELU().activation.alpha == 1.0
    x = torch.tensor([-1.0, 0.5, 1.0, 2.0], dtype=torch.float64)
    # gelu is the exact erf form, measurably different from the tanh approximation
    torch.testing.assert_close(activations.gelu(x), x * 0.5 * (1 + torch.erf(x / math.sqrt(2))))
    assert (activations.gelu(x) - F.gelu(x, approximate="tanh")).abs().max() > 1e-5


def test_linear_returns_its_input_and_dy_themselves():
    x, dy = torch.randn(3, 2), torch.randn(3, 2)
    y, backward = activations.get(None).forward(x)
    assert y is x and backward(dy) is dy


# ---- extreme inputs --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_huge_inputs_give_finite_outputs_and_gradients(name, dtype):
    x = torch.tensor([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, backward = activations.get(name).forward(x)
        dx = backward(torch.ones_like(x))
    assert torch.isfinite(y).all() and torch.isfinite(dx).all()


def test_huge_inputs_saturate_to_the_right_values():
    x = torch.tensor([-1e4, 1e4], dtype=torch.float64)
    torch.testing.assert_close(activations.sigmoid(x), torch.tensor([0.0, 1.0], dtype=x.dtype))
    torch.testing.assert_close(activations.softplus(x), torch.tensor([0.0, 1e4], dtype=x.dtype))
    torch.testing.assert_close(activations.elu(x), torch.tensor([-1.0, 1e4], dtype=x.dtype))
    torch.testing.assert_close(activations.softmax(x), torch.tensor([0.0, 1.0], dtype=x.dtype))
    # softplus stays accurate far in the tail, where log(1 + exp(x)) would round to 0
    assert activations.softplus(torch.tensor([-50.0], dtype=torch.float64)).item() > 0


# ---- get / serialize -------------------------------------------------------------------------
def test_get_accepts_names_none_objects_and_dicts():
    for name in NAMES:
        act = activations.get(name)
        assert act.name == name and isinstance(act, activations.ActivationFunction)
    assert activations.get(None).name == "linear"
    obj = activations.LeakyReLU(0.2)
    assert activations.get(obj) is obj
    assert activations.get({"class_name": "leaky_relu", "config": {"negative_slope": 0.2}}) == obj


def test_serialize_round_trips():
    for act in [activations.get(n) for n in NAMES] + [activations.LeakyReLU(0.3),
                                                      activations.ELU(2.0), activations.Softmax(0)]:
        spec = activations.serialize(act)
        assert activations.get(spec) == act
    assert activations.serialize(activations.ELU()) == "elu"  # defaults: just the name


def test_get_rejects_unknown_names_and_types():
    with pytest.raises(ValueError, match="relux") as info:
        activations.get("relux")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="activation"):
        activations.get(3)
    with pytest.raises(TypeError, match="activation"):
        layers.Activation(torch.relu)


def test_constructor_arguments_are_validated():
    with pytest.raises(TypeError, match="negative_slope.*'a'"):
        layers.LeakyReLU(negative_slope="a")
    with pytest.raises(ValueError, match="negative_slope.*-0.1"):
        activations.LeakyReLU(-0.1)
    with pytest.raises(ValueError, match="alpha"):
        layers.ELU(alpha=float("nan"))
    with pytest.raises(TypeError, match="alpha"):
        layers.ELU(alpha=True)
    with pytest.raises(TypeError, match="axis.*1.5"):
        layers.Softmax(axis=1.5)
    with pytest.raises(ValueError, match="relux"):
        layers.Activation("relux")


# ---- the layers ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_layers_expose_their_function(name):
    layer = REFERENCE[name][1]()
    assert layer.activation.name == name
    assert layer.weights == [] and layer.count_params() == 0
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 4)
    assert layers.Activation(name).activation == activations.get(name)


@pytest.mark.parametrize("layer", [
    layers.Activation("tanh"), layers.Activation(activations.LeakyReLU(0.3)), layers.ReLU(),
    layers.LeakyReLU(0.2), layers.ELU(alpha=0.5), layers.Tanh(), layers.Sigmoid(),
    layers.Softmax(axis=1), layers.GELU(), layers.Softplus(name="sp", trainable=False)],
    ids=lambda layer: layer.name)
def test_layer_config_round_trip(layer):
    config_ = layer.get_config()
    clone = type(layer).from_config(config_)
    assert clone.get_config() == config_
    assert clone.activation == layer.activation
    assert layers.deserialize(layers.serialize(layer)).get_config() == config_


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "linear", "elu"])
def test_forward_fresh_gives_forward_s_values_and_gradients(name):
    """Layers run their activation on their own fresh output through `forward_fresh`, which may
    work in place (ReLU, tanh and sigmoid do): same output and backward as `forward`, bit for bit."""
    act = activations.get(name)
    z = torch.randn(6, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    dy = torch.randn(6, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y, back = act.forward(z)
    fresh = z.clone()
    y2, back2 = act.forward_fresh(fresh)
    assert torch.equal(y2, y) and torch.equal(back2(dy), back(dy))
    if name in ("relu", "tanh", "sigmoid"):  # in place: the layer's own tensor now holds y
        assert y2.data_ptr() == fresh.data_ptr()
