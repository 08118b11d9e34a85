"""Regularizers: penalties against Keras 3's formulas, gradients against torch autograd and central
differences, string ids and defaults, config round trips, bad arguments, Dense's regularizer and
constraint arguments."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette import regularizers
from kerasette.testing import numeric_gradient, relative_error

SETTINGS = settings(max_examples=25, deadline=None)


def away_from_zero(g, *shape):
    """Entries with |x| in [0.1, 1.1]: central differences of |x| never straddle its kink at 0."""
    sign = torch.randint(0, 2, shape, generator=g).to(torch.float64) * 2 - 1
    return sign * (torch.rand(shape, generator=g, dtype=torch.float64) + 0.1)


def test_keras_docstring_values():
    # Keras's own examples: L2(2.0) on a 5x5 of ones is 50; L1(0.01) on a 5x5 of ones is 0.25.
    assert float(regularizers.L2(2.0)(torch.ones(5, 5))) == 50.0
    assert float(regularizers.L1(0.01)(torch.ones(5, 5))) == pytest.approx(0.25)


@pytest.mark.parametrize("reg, formula", [
    (regularizers.L1(0.3), lambda x: 0.3 * x.abs().sum()),
    (regularizers.L2(0.2), lambda x: 0.2 * (x ** 2).sum()),
    (regularizers.L1L2(l1=0.1, l2=0.05), lambda x: 0.1 * x.abs().sum() + 0.05 * (x ** 2).sum()),
])
def test_penalty_and_gradient_match_autograd_and_finite_differences(reg, formula):
    x = away_from_zero(torch.Generator().manual_seed(0), 4, 3)
    penalty = reg(x)
    assert penalty.dim() == 0
    torch.testing.assert_close(penalty, formula(x))
    leaf = x.clone().requires_grad_(True)
    (oracle,) = torch.autograd.grad(formula(leaf), leaf)
    torch.testing.assert_close(reg.gradient(x), oracle)
    numeric = numeric_gradient(lambda: float(reg(x)), x)
    assert relative_error(reg.gradient(x), numeric) < 1e-6


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), l1=st.floats(0, 2),
       l2=st.floats(0, 2), seed=st.integers(0, 2**31 - 1))
def test_l1l2_property(shape, l1, l2, seed):
    x = away_from_zero(torch.Generator().manual_seed(seed), *shape)
    reg = regularizers.L1L2(l1=l1, l2=l2)
    leaf = x.clone().requires_grad_(True)
    value = l1 * leaf.abs().sum() + l2 * (leaf * leaf).sum()
    (oracle,) = torch.autograd.grad(value, leaf)
    torch.testing.assert_close(reg(x), value.detach())
    torch.testing.assert_close(reg.gradient(x), oracle)
    assert reg.gradient(x).shape == x.shape


def test_gradient_of_l1_at_zero_is_zero():
    assert regularizers.L1(0.5).gradient(torch.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_zero_factors_give_zero_penalty_and_gradient():
    x = torch.randn(3, 2, dtype=torch.float64)
    reg = regularizers.L1L2()
    assert float(reg(x)) == 0.0 and reg(x).dtype == torch.float64
    assert not reg.gradient(x).any()


@pytest.mark.parametrize("ident, cls, config", [
    ("l1", regularizers.L1, {"l1": 0.01}), ("L1", regularizers.L1, {"l1": 0.01}),
    ("l2", regularizers.L2, {"l2": 0.01}), ("L2", regularizers.L2, {"l2": 0.01}),
    ("l1_l2", regularizers.L1L2, {"l1": 0.01, "l2": 0.01}),
    ("L1L2", regularizers.L1L2, {"l1": 0.0, "l2": 0.0}),
])
def test_string_ids_and_defaults(ident, cls, config):
    reg = regularizers.get(ident)
    assert type(reg) is cls and reg.get_config() == config


def test_lowercase_aliases_are_the_classes():
    assert regularizers.l2(0.1).get_config() == {"l2": 0.1}
    assert regularizers.l1_l2(l1=0.2).get_config() == {"l1": 0.2, "l2": 0.0}
    assert ks.regularizers.l1 is regularizers.L1


@pytest.mark.parametrize("reg", [regularizers.L1(0.2), regularizers.L2(0.3),
                                 regularizers.L1L2(0.1, 0.4)])
def test_serialize_round_trip(reg):
    spec = regularizers.serialize(reg)
    assert spec == {"class_name": type(reg).__name__, "config": reg.get_config()}
    clone = regularizers.deserialize(spec)
    assert type(clone) is type(reg) and clone.get_config() == reg.get_config()
    assert regularizers.get(spec).get_config() == reg.get_config()


def test_none_passes_through():
    assert regularizers.get(None) is None and regularizers.serialize(None) is None


@pytest.mark.parametrize("make, name", [
    (lambda: regularizers.L1(-0.1), "l1"), (lambda: regularizers.L2(math.nan), "l2"),
    (lambda: regularizers.L1L2(l2=math.inf), "l2"), (lambda: regularizers.L2("0.1"), "l2"),
    (lambda: regularizers.L1(True), "l1"),
])
def test_bad_factors_name_the_argument(make, name):
    with pytest.raises(ValueError, match=f"Invalid {name}"):
        make()


def test_bad_identifiers():
    with pytest.raises(ValueError, match="Unknown regularizer: 'l3'"):
        regularizers.get("l3")
    with pytest.raises(TypeError, match="gradient"):
        regularizers.get(lambda w: w.abs().sum())  # no gradient: nothing here differentiates it
    with pytest.raises(ValueError, match="Invalid regularizer config"):
        regularizers.deserialize({"class_name": "Orthogonal", "config": {}})


class Custom(regularizers.Regularizer):
    def __call__(self, x):
        return (x ** 4).sum()

    def gradient(self, x):
        return 4 * x ** 3


def test_custom_regularizer_is_accepted_not_serialized():
    reg = Custom()
    assert regularizers.get(reg) is reg
    with pytest.raises(ValueError, match="custom regularizer"):
        regularizers.serialize(reg)


# ---- Dense's arguments --------------------------------------------------------------------------
def test_dense_attaches_regularizers_and_constraints_to_its_weights():
    layer = ks.layers.Dense(3, kernel_regularizer="l2", bias_regularizer=regularizers.L1(0.5),
                            kernel_constraint="max_norm", bias_constraint="non_neg")
    layer(torch.zeros(2, 4))
    assert layer.kernel.regularizer.get_config() == {"l2": 0.01}
    assert layer.bias.regularizer.get_config() == {"l1": 0.5}
    assert type(layer.kernel.constraint) is ks.constraints.MaxNorm
    assert type(layer.bias.constraint) is ks.constraints.NonNeg


def test_dense_config_round_trip_with_regularizers():
    layer = ks.layers.Dense(3, kernel_regularizer=regularizers.L1L2(0.1, 0.2),
                            kernel_constraint=ks.constraints.UnitNorm(axis=[0]))
    config = layer.get_config()
    assert config["kernel_regularizer"] == {"class_name": "L1L2",
                                            "config": {"l1": 0.1, "l2": 0.2}}
    assert config["bias_regularizer"] is None and config["bias_constraint"] is None
    clone = ks.layers.deserialize(ks.layers.serialize(layer))
    assert clone.get_config() == config


def test_dense_without_regularizers_has_none():
    layer = ks.layers.Dense(2)
    layer(torch.zeros(1, 2))
    assert layer.kernel.regularizer is None and layer.kernel.constraint is None


@pytest.mark.parametrize("kwargs, name", [
    ({"kernel_regularizer": "l3"}, "regularizer"), ({"bias_regularizer": 0.1}, "regularizer"),
    ({"kernel_constraint": "max"}, "constraint"), ({"bias_constraint": 3}, "constraint"),
])
def test_dense_bad_regularizer_or_constraint(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        ks.layers.Dense(2, **kwargs)


def test_model_with_regularized_dense_saves_and_loads(tmp_path):
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(2, kernel_regularizer="l1_l2",
                                                           bias_constraint="non_neg")])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = ks.models.load_model(path)
    layer = loaded.layers[0]
    assert layer.kernel.regularizer.get_config() == {"l1": 0.01, "l2": 0.01}
    assert type(layer.bias.constraint) is ks.constraints.NonNeg


# ---- end to end: the trainer adds penalties and gradients, then applies constraints ----------------
def test_fit_with_regularizers_and_a_constraint_equals_autograd(float64):
    """Dense(kernel_regularizer=l1_l2, bias_regularizer=l2, kernel_constraint=max_norm(0.8)) ->
    Dense: 20 SGD steps of model.fit equal autograd on loss + penalties, with the projection
    W <- W * clip(n, 0, 0.8) / (1e-7 + n) after each step, to 1e-10."""
    lr, g = 0.1, torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randn(40, 1, generator=g, dtype=torch.float64)
    model = ks.Sequential([
        ks.Input((3,)),
        ks.layers.Dense(4, activation="tanh", kernel_regularizer=regularizers.L1L2(0.01, 0.02),
                        bias_regularizer=regularizers.L2(0.05),
                        kernel_constraint=ks.constraints.MaxNorm(0.8)),
        ks.layers.Dense(1)])
    model.compile(optimizer=ks.optimizers.SGD(lr), loss="mse")
    params = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    history = model.fit(x, y, batch_size=2, shuffle=False, verbose=0)
    losses = []
    for step in range(20):
        xb, yb = x[2 * step:2 * step + 2], y[2 * step:2 * step + 2]
        W1, b1, W2, b2 = params
        penalty = 0.01 * W1.abs().sum() + 0.02 * (W1 ** 2).sum() + 0.05 * (b1 ** 2).sum()
        loss = ((torch.tanh(xb @ W1 + b1) @ W2 + b2 - yb) ** 2).mean() + penalty
        losses.append(float(loss.detach()))
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, d in zip(params, grads):
                p.sub_(lr * d)
            n = W1.pow(2).sum(0, keepdim=True).sqrt()
            W1.mul_(n.clamp(0, 0.8) / (1e-7 + n))
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-10)
    assert history.history["loss"][0] == pytest.approx(np.mean(losses), rel=1e-10)
