"""BatchNormalization, LayerNormalization, GroupNormalization: forward equal to torch.nn.functional,
backward against central differences and torch autograd (float64), Hypothesis shapes incl. batch 1,
moving statistics and inference output against the formula, trainable=False (inference mode), a
20-step fit equal to autograd, weights in Keras's layout, save / load and bad arguments."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette import layers
from kerasette.random_state import make_generator
from kerasette.testing import check_gradients

LR = 0.1  # the trajectory tests' SGD learning rate
SETTINGS = settings(max_examples=20, deadline=None)
EPS = 1e-3  # Keras's default epsilon for all three

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def randn(g, *shape):
    return torch.randn(shape, generator=g, dtype=torch.float64)


def affine(layer, g):
    """Give gamma and beta random values (they start at ones and zeros)."""
    for w in (layer.gamma, layer.beta):
        if w is not None:
            w.assign(randn(g, *w.shape))


def check_finite_differences(layer, x, seed, training=False):
    """Central differences, unless the projected gradient nearly cancels (a normalised group of 2
    or 3 values can make dL/dx ~1e-4 while L ~ 1; its finite difference is then rounding noise and
    the autograd oracle alone judges it)."""
    y, backward = layer.forward(x, training)
    r = torch.randn(y.shape, generator=make_generator(seed), dtype=torch.float64)
    if backward(r).norm() < 1e-2 * r.norm():
        return
    for w in layer.weights:
        w.grad.zero_()
    errors = check_gradients(layer, x, seed=seed, training=training)
    assert max(errors.values()) < 1e-6, errors


def grads_of(layer, x, dy, training):
    _, backward = layer.forward(x, training)
    for w in layer.weights:
        w.grad.zero_()
    dx = backward(dy)
    return dx, {w.name.split("/")[-1]: w.grad.clone() for w in layer.trainable_weights}


# ---- torch.nn.functional forms of each layer (the oracles) ---------------------------------------
def torch_batch_norm(x, axis, gamma, beta, mean=None, var=None):
    """Training (mean None: batch statistics, biased) or inference with the given statistics."""
    moved = x.movedim(axis, -1)
    x2 = moved.reshape(-1, moved.shape[-1])
    y2 = F.batch_norm(x2, mean, var, gamma, beta, mean is None, 0.0, EPS)
    return y2.reshape(moved.shape).movedim(-1, axis)


def torch_layer_norm(x, axes, gamma, beta):
    rest = [a for a in range(x.dim()) if a not in axes]
    moved = x.permute(rest + axes)
    shape = tuple(moved.shape[len(rest):])
    y = F.layer_norm(moved, shape, gamma, beta, EPS)
    return y.permute([(rest + axes).index(a) for a in range(x.dim())])


def torch_group_norm(x, axis, groups, gamma, beta):
    if gamma is None and beta is not None:  # torch's autograd fails on weight=None with a bias
        gamma = torch.ones_like(beta)
    return F.group_norm(x.movedim(axis, 1), groups, gamma, beta, EPS).movedim(1, axis)


def oracle(fn, x, weights, dy):
    """(y, dx, {name: dw}) of fn(x, *weights) by torch autograd."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in weights.items() if v is not None}
    xl = x.clone().requires_grad_(True)
    y = fn(xl, **{k: leaves.get(k) for k in weights})
    grads = torch.autograd.grad(y, [xl, *leaves.values()], dy)
    return y.detach(), grads[0], dict(zip(leaves, grads[1:]))


cases = st.fixed_dictionaries({
    "batch": st.sampled_from([1, 2, 3]),
    "inner": st.lists(st.integers(1, 3), min_size=0, max_size=2),
    "channels": st.sampled_from([1, 2, 4, 6]),
    "center": st.booleans(), "scale": st.booleans(),
    "seed": st.integers(0, 2**31 - 1),
})


# ---- BatchNormalization -----------------------------------------------------------------------
@SETTINGS
@given(case=cases, training=st.booleans(), last=st.booleans())
def test_batch_norm_property(case, training, last):
    g = torch.Generator().manual_seed(case["seed"])
    shape = (case["batch"], *case["inner"], case["channels"])
    axis = -1 if last or not case["inner"] else 1
    if axis == 1:
        shape = (case["batch"], case["channels"], *case["inner"])
    if training and np.prod(shape) // case["channels"] < 2:
        training = False  # one value per channel: the batch variance is 0, xhat = 0 (tested below)
    layer = layers.BatchNormalization(axis=axis, center=case["center"], scale=case["scale"])
    x = randn(g, *shape) * 2 + 1
    layer(x)
    affine(layer, g)
    layer.moving_mean.assign(randn(g, shape[axis]))
    layer.moving_variance.assign(torch.rand(shape[axis], generator=g, dtype=torch.float64) + 0.5)
    mean, var = layer.moving_mean.value.clone(), layer.moving_variance.value.clone()
    dy = randn(g, *shape)
    weights = {"gamma": None if layer.gamma is None else layer.gamma.value,
               "beta": None if layer.beta is None else layer.beta.value}

    def fn(x, gamma, beta):
        return torch_batch_norm(x, axis, gamma, beta, None if training else mean,
                                None if training else var)
    y_ref, dx_ref, dw_ref = oracle(fn, x, weights, dy)
    y, _ = layer.forward(x, training)
    torch.testing.assert_close(y, y_ref)
    layer.moving_mean.assign(mean)
    layer.moving_variance.assign(var)
    dx, dw = grads_of(layer, x, dy, training)
    torch.testing.assert_close(dx, dx_ref)
    assert set(dw) == set(dw_ref)
    for k in dw:
        torch.testing.assert_close(dw[k], dw_ref[k])
    check_finite_differences(layer, x, case["seed"], training)


def test_batch_norm_moving_statistics_follow_the_formula():
    g = torch.Generator().manual_seed(1)
    layer = layers.BatchNormalization(momentum=0.9)
    mm, mv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for step in range(4):
        x = randn(g, 8, 3) * (step + 1) + step
        layer(x, training=True)
        mean, var = x.mean(0), x.var(0, unbiased=False)       # biased, as Keras
        mm, mv = 0.9 * mm + 0.1 * mean, 0.9 * mv + 0.1 * var
        torch.testing.assert_close(layer.moving_mean.value, mm)
        torch.testing.assert_close(layer.moving_variance.value, mv)
    layer(randn(g, 8, 3), training=False)                      # inference: no update
    torch.testing.assert_close(layer.moving_mean.value, mm)
    x = randn(g, 5, 3)
    expected = layer.gamma.value * (x - mm) / torch.sqrt(mv + EPS) + layer.beta.value
    torch.testing.assert_close(layer(x, training=False), expected)


def test_batch_norm_moving_statistics_update_in_place():
    layer = layers.BatchNormalization()
    layer(torch.zeros(2, 3))
    mean_tensor = layer.moving_mean.value
    layer(randn(torch.Generator().manual_seed(0), 4, 3), training=True)
    assert layer.moving_mean.value is mean_tensor and mean_tensor.abs().sum() > 0


def test_batch_norm_one_value_per_channel_in_training():
    # batch 1 on (1, C): the batch variance is 0, so xhat = 0 and y = beta (as Keras computes)
    layer = layers.BatchNormalization(beta_initializer=ks.initializers.Constant(0.5))
    y = layer(torch.tensor([[1.0, -2.0]], dtype=torch.float64), training=True)
    torch.testing.assert_close(y, torch.tensor([[0.5, 0.5]], dtype=torch.float64))


def test_frozen_batch_norm_runs_in_inference_mode():
    g = torch.Generator().manual_seed(2)
    layer = layers.BatchNormalization(trainable=False)
    x = randn(g, 6, 4) * 3 + 2
    layer(x)
    layer.moving_mean.assign(randn(g, 4))
    before = [w.value.clone() for w in layer.weights]
    y, backward = layer.forward(x, training=True)
    expected = (x - layer.moving_mean.value) / torch.sqrt(layer.moving_variance.value + EPS)
    torch.testing.assert_close(y, expected)
    for w, b in zip(layer.weights, before):
        torch.testing.assert_close(w.value, b)           # no moving-statistics update
    dy = randn(g, 6, 4)
    torch.testing.assert_close(backward(dy), dy / torch.sqrt(layer.moving_variance.value + EPS))
    assert not any(w.grad.any() for w in layer.weights)  # frozen: no weight gradients
    layer.trainable = True
    layer.forward(x, training=True)
    assert not torch.equal(layer.moving_mean.value, before[2])


def test_batch_norm_weights_in_keras_order_and_layout():
    layer = layers.BatchNormalization()
    layer(torch.zeros(2, 5, 3))
    assert [w.name.split("/")[-1] for w in layer.weights] == ["gamma", "beta", "moving_mean",
                                                               "moving_variance"]
    assert [w.shape for w in layer.weights] == [(3,)] * 4
    assert [w.name.split("/")[-1] for w in layer.trainable_weights] == ["gamma", "beta"]
    assert [w.name.split("/")[-1] for w in layer.non_trainable_weights] == [
        "moving_mean", "moving_variance"]
    assert all(w.is_state for w in layer.non_trainable_weights)
    bare = layers.BatchNormalization(center=False, scale=False)
    bare(torch.zeros(2, 3))
    assert [w.name.split("/")[-1] for w in bare.weights] == ["moving_mean", "moving_variance"]


def test_batch_norm_loads_keras_weights():
    # Keras 3 BatchNormalization weights for C=2 channels, in get_weights() order:
    # gamma (2,), beta (2,), moving_mean (2,), moving_variance (2,). In inference Keras gives
    # gamma * (x - moving_mean) / sqrt(moving_variance + 1e-3) + beta; with moving_variance + eps
    # = [4, 0.25] the square roots are 2 and 0.5, so the expected outputs are exact.
    model = ks.Sequential([ks.Input((2,)), layers.BatchNormalization()])
    model.set_weights([np.array([2.0, 3.0]), np.array([0.5, -1.0]), np.array([1.0, 0.0]),
                       np.array([3.999, 0.249])])
    out = model.predict(np.array([[1.0, 2.0], [3.0, -1.0]]), verbose=0)
    np.testing.assert_allclose(out, [[0.5, 11.0], [2.5, -7.0]], rtol=1e-12)


# ---- LayerNormalization -----------------------------------------------------------------------
@SETTINGS
@given(case=cases, axes_kind=st.sampled_from(["last", "trailing", "middle"]))
def test_layer_norm_property(case, axes_kind):
    g = torch.Generator().manual_seed(case["seed"])
    shape = (case["batch"], *case["inner"], case["channels"])
    rank = len(shape)
    axis = {"last": -1, "trailing": list(range(1, rank)),
            "middle": [1] if rank > 2 else -1}[axes_kind]
    axes = sorted(a % rank for a in (axis if isinstance(axis, list) else [axis]))
    if np.prod([shape[a] for a in axes]) < 2:
        shape = (*shape[:-1], shape[-1] + 1)  # one value per row: variance 0, nothing to check
    layer = layers.LayerNormalization(axis=axis, center=case["center"], scale=case["scale"])
    x = randn(g, *shape)
    layer(x)
    affine(layer, g)
    assert layer.count_params() == (case["center"] + case["scale"]) * np.prod(
        [shape[a] for a in axes])
    dy = randn(g, *shape)
    weights = {"gamma": None if layer.gamma is None else layer.gamma.value,
               "beta": None if layer.beta is None else layer.beta.value}
    y_ref, dx_ref, dw_ref = oracle(lambda x, gamma, beta: torch_layer_norm(x, axes, gamma, beta),
                                   x, weights, dy)
    torch.testing.assert_close(layer(x), y_ref)
    dx, dw = grads_of(layer, x, dy, False)
    torch.testing.assert_close(dx, dx_ref)
    for k in dw_ref:
        torch.testing.assert_close(dw[k], dw_ref[k])
    check_finite_differences(layer, x, case["seed"])


def test_layer_norm_keras_weight_shapes():
    layer = layers.LayerNormalization(axis=[1, 2, 3])
    layer(torch.zeros(5, 2, 3, 4))
    assert layer.gamma.shape == (2, 3, 4) and layer.beta.shape == (2, 3, 4)
    layer = layers.LayerNormalization()
    layer(torch.zeros(5, 7, 3))
    assert [w.shape for w in layer.weights] == [(3,), (3,)]


def test_layer_norm_loads_keras_weights():
    # Keras: gamma (2,), beta (2,); x = [1, 3] has mean 2 and variance 1, so
    # xhat = [-1, 1] / sqrt(1 + 1e-3).
    layer = layers.LayerNormalization()
    layer(torch.zeros(1, 2))
    layer.set_weights([np.array([2.0, 3.0]), np.array([0.5, -1.0])])
    y = layer(torch.tensor([[1.0, 3.0]], dtype=torch.float64))
    s = 1 / np.sqrt(1 + 1e-3)
    np.testing.assert_allclose(y.numpy(), [[0.5 - 2 * s, -1 + 3 * s]], rtol=1e-12)


# ---- GroupNormalization -----------------------------------------------------------------------
@SETTINGS
@given(case=cases, groups_kind=st.sampled_from(["one", "all", "two"]), last=st.booleans())
def test_group_norm_property(case, groups_kind, last):
    g = torch.Generator().manual_seed(case["seed"])
    channels = case["channels"]
    groups = {"one": 1, "all": -1, "two": 2 if channels % 2 == 0 else 1}[groups_kind]
    inner = case["inner"] or [1]
    per_group = np.prod(inner) * (1 if groups == -1 else channels // groups)
    if per_group < 2:
        inner = [*inner[:-1], inner[-1] + 1]
    shape = (case["batch"], *inner, channels) if last else (case["batch"], channels, *inner)
    axis = -1 if last else 1
    layer = layers.GroupNormalization(groups=groups, axis=axis, center=case["center"],
                                      scale=case["scale"])
    x = randn(g, *shape)
    layer(x)
    affine(layer, g)
    dy = randn(g, *shape)
    weights = {"gamma": None if layer.gamma is None else layer.gamma.value,
               "beta": None if layer.beta is None else layer.beta.value}
    n_groups = channels if groups == -1 else groups
    y_ref, dx_ref, dw_ref = oracle(
        lambda x, gamma, beta: torch_group_norm(x, axis, n_groups, gamma, beta), x, weights, dy)
    torch.testing.assert_close(layer(x), y_ref)
    dx, dw = grads_of(layer, x, dy, False)
    torch.testing.assert_close(dx, dx_ref)
    for k in dw_ref:
        torch.testing.assert_close(dw[k], dw_ref[k])
    check_finite_differences(layer, x, case["seed"])


def test_group_norm_keras_weight_shapes():
    layer = layers.GroupNormalization(groups=4)
    layer(torch.zeros(2, 5, 5, 8))
    assert [w.shape for w in layer.weights] == [(8,), (8,)]


# ---- training trajectory --------------------------------------------------------------------------
def test_fit_trajectory_with_batch_norm_equals_autograd():
    """Sequential([Dense, BatchNormalization, Dense]) trained 20 steps with SGD equals the same
    network trained by torch autograd, weights and moving statistics, to 1e-10."""
    g = torch.Generator().manual_seed(3)
    x, y = randn(g, 80, 4), randn(g, 80, 2)
    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((4,)), layers.Dense(6, activation="tanh"),
                           layers.BatchNormalization(momentum=0.8), layers.Dense(2)])
    model.compile(optimizer=ks.optimizers.SGD(LR), loss="mse")
    W1, b1, gamma, beta, mm, mv, W2, b2 = [torch.tensor(w) for w in model.get_weights()]
    params = [t.clone().requires_grad_(True) for t in (W1, b1, gamma, beta, W2, b2)]
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)   # 20 steps
    for step in range(20):
        xb, yb = x[4 * step:4 * step + 4], y[4 * step:4 * step + 4]
        W1_, b1_, gamma_, beta_, W2_, b2_ = params
        h = torch.tanh(xb @ W1_ + b1_)
        mean, var = h.mean(0), h.var(0, unbiased=False)
        out = (gamma_ * (h - mean) / torch.sqrt(var + EPS) + beta_) @ W2_ + b2_
        loss = ((out - yb) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():                                  # plain SGD: w <- w - lr * dw
            for p, d in zip(params, grads):
                p.sub_(LR * d)
        mm = 0.8 * mm + 0.2 * mean.detach()
        mv = 0.8 * mv + 0.2 * var.detach()
    expected = [p.detach() for p in params[:4]] + [mm, mv] + [p.detach() for p in params[4:]]
    for got, want in zip(model.get_weights(), expected):
        torch.testing.assert_close(torch.tensor(got), want, rtol=1e-10, atol=1e-10)


def test_fit_with_frozen_batch_norm_keeps_its_statistics():
    g = torch.Generator().manual_seed(4)
    bn = layers.BatchNormalization(trainable=False)
    model = ks.Sequential([ks.Input((3,)), layers.Dense(4), bn, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = bn.get_weights()
    model.fit(randn(g, 16, 3), randn(g, 16, 1), batch_size=4, verbose=0)
    for a, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# ---- saving, config, weights round trips ----------------------------------------------------------
def model_with_all_three():
    return ks.Sequential([
        ks.Input((4, 6)), layers.BatchNormalization(momentum=0.5, center=False),
        layers.LayerNormalization(axis=[1, 2], epsilon=1e-5),
        layers.GroupNormalization(groups=3, gamma_regularizer="l2", beta_constraint="non_neg"),
        layers.Flatten(), layers.Dense(1)])


def test_save_load_and_weights_round_trip(tmp_path):
    g = torch.Generator().manual_seed(5)
    x, y = randn(g, 12, 4, 6), randn(g, 12, 1)
    model = model_with_all_three()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=4, verbose=0)
    bn = model.layers[0]
    assert bn.moving_mean.value.abs().sum() > 0
    path = tmp_path / "norm.keras"
    model.save(path)
    loaded = ks.models.load_model(path)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[2].gamma.regularizer.get_config() == {"l2": 0.01}
    clone = model_with_all_three()
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    weights_path = tmp_path / "norm.weights.pt"
    model.save_weights(weights_path)
    fresh = model_with_all_three()
    fresh.load_weights(weights_path)
    np.testing.assert_array_equal(fresh.layers[0].moving_variance.numpy(),
                                  bn.moving_variance.numpy())


@pytest.mark.parametrize("layer", [
    layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                              gamma_regularizer="l1", synchronized=True, name="bn_x"),
    layers.LayerNormalization(axis=[1, 2], scale=False, beta_constraint="max_norm"),
    layers.GroupNormalization(groups=-1, axis=1, beta_initializer="ones"),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is type(layer) and clone.get_config() == config


def test_summary_counts_moving_statistics():
    model = ks.Sequential([ks.Input((3,)), layers.BatchNormalization()])
    assert model.count_params() == 12
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


# ---- bad arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make, exc, name", [
    (lambda: layers.BatchNormalization(axis=1.5), TypeError, "axis"),
    (lambda: layers.BatchNormalization(momentum=1.5), ValueError, "momentum"),
    (lambda: layers.BatchNormalization(epsilon=0), ValueError, "epsilon"),
    (lambda: layers.BatchNormalization(center="yes"), TypeError, "center"),
    (lambda: layers.BatchNormalization(synchronized=None), TypeError, "synchronized"),
    (lambda: layers.BatchNormalization(gamma_regularizer="l5"), ValueError, "regularizer"),
    (lambda: layers.BatchNormalization(renorm=True), TypeError, "renorm"),
    (lambda: layers.LayerNormalization(axis="last"), TypeError, "axis"),
    (lambda: layers.LayerNormalization(axis=[]), TypeError, "axis"),
    (lambda: layers.LayerNormalization(scale=1), TypeError, "scale"),
    (lambda: layers.GroupNormalization(groups=0), ValueError, "groups"),
    (lambda: layers.GroupNormalization(groups=2.0), ValueError, "groups"),
])
def test_bad_arguments_name_them(make, exc, name):
    with pytest.raises(exc, match=name):
        make()


@pytest.mark.parametrize("layer, shape, name", [
    (layers.BatchNormalization(axis=3), (2, 3), "axis"),
    (layers.BatchNormalization(axis=0), (2, 3), "axis"),
    (layers.LayerNormalization(axis=[1, -1]), (2, 3), "axis"),
    (layers.GroupNormalization(groups=4), (2, 6), "groups"),
    (layers.GroupNormalization(groups=8), (2, 6), "groups"),
])
def test_bad_axes_or_groups_for_the_input(layer, shape, name):
    with pytest.raises(ValueError, match=f"Invalid {name}"):
        layer(torch.zeros(shape))
