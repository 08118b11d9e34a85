"""SpatialDropout1D/2D, GaussianNoise, GaussianDropout and ActivityRegularization: identity at
inference, the noise's shape and statistics, backward with the forward's noise (torch autograd
oracle), seeded reproducibility, Keras's batch-size scaling of the activity penalty (central
differences, a 20-step fit equal to autograd), configs and bad arguments."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette import layers
from kerasette.testing import check_gradients, numeric_gradient, relative_error

SETTINGS = settings(max_examples=20, deadline=None)
LR = 0.1

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def randn(g, *shape):
    return torch.randn(shape, generator=g, dtype=torch.float64)


NOISE_LAYERS = [
    (lambda: layers.SpatialDropout1D(0.5, seed=1), (4, 5, 3)),
    (lambda: layers.SpatialDropout2D(0.5, seed=1), (2, 3, 4, 5)),
    (lambda: layers.SpatialDropout2D(0.5, data_format="channels_first", seed=1), (2, 3, 4, 5)),
    (lambda: layers.GaussianNoise(0.3, seed=1), (4, 3)),
    (lambda: layers.GaussianDropout(0.4, seed=1), (4, 3)),
]


@pytest.mark.parametrize("make, shape", NOISE_LAYERS)
def test_identity_at_inference(make, shape):
    x = randn(torch.Generator().manual_seed(0), *shape)
    dy = torch.ones(shape, dtype=torch.float64)
    y, backward = make().forward(x, training=False)
    assert y is x and backward(dy) is dy
    assert make()(x) is x


@pytest.mark.parametrize("make, shape", NOISE_LAYERS)
def test_seeded_and_reproducible(make, shape):
    x = randn(torch.Generator().manual_seed(0), *shape)
    a, b = make(), make()
    torch.testing.assert_close(a.forward(x, True)[0], b.forward(x, True)[0])
    assert not torch.equal(a.forward(x, True)[0], x)


@SETTINGS
@given(batch=st.sampled_from([1, 2, 4]), steps=st.integers(1, 6), channels=st.integers(1, 5),
       rate=st.floats(0.1, 0.9), seed=st.integers(0, 2**31 - 1))
def test_spatial_dropout_1d_drops_whole_channels(batch, steps, channels, rate, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, steps, channels, generator=g, dtype=torch.float64) + 0.5  # nonzero
    dy = randn(g, batch, steps, channels)
    layer = layers.SpatialDropout1D(rate, seed=seed)
    y, backward = layer.forward(x, training=True)
    layer.forward(x, training=True)          # a later draw does not touch the closure's mask
    mask = (y != 0).double() / (1 - rate)
    assert (mask == mask[:, :1, :]).all()    # the same for every step of a channel
    torch.testing.assert_close(y, x * mask)
    leaf = x.clone().requires_grad_(True)
    (dx_ref,) = torch.autograd.grad(leaf * mask, leaf, dy)
    torch.testing.assert_close(backward(dy), dx_ref)


@pytest.mark.parametrize("data_format, axes", [("channels_last", (1, 2)),
                                               ("channels_first", (2, 3))])
def test_spatial_dropout_2d_drops_whole_feature_maps(data_format, axes):
    x = torch.ones(8, 6, 6, 6, dtype=torch.float64)
    y, _ = layers.SpatialDropout2D(0.5, data_format=data_format, seed=3).forward(x, True)
    first = y.narrow(axes[0], 0, 1).narrow(axes[1], 0, 1)
    assert (y == first).all()                             # constant over the spatial axes
    assert set(y.unique().tolist()) == {0.0, 2.0}


def test_spatial_dropout_statistics():
    x = torch.ones(400, 2, 500, dtype=torch.float64)
    y, _ = layers.SpatialDropout1D(0.3, seed=0).forward(x, True)
    dropped = (y[:, 0, :] == 0).double().mean().item()
    assert abs(dropped - 0.3) < 5 * math.sqrt(0.3 * 0.7 / 200_000)


def test_gaussian_noise_statistics_and_backward():
    x = torch.zeros(300, 400, dtype=torch.float64)
    y, backward = layers.GaussianNoise(0.2, seed=0).forward(x, True)
    assert abs(y.mean().item()) < 5 * 0.2 / math.sqrt(x.numel())
    assert abs(y.std().item() - 0.2) < 0.01
    dy = torch.randn(300, 400, dtype=torch.float64)
    assert backward(dy) is dy                            # additive noise: dx = dy


def test_gaussian_dropout_statistics_and_backward():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(300, 400, generator=g, dtype=torch.float64) + 0.5
    rate = 0.3
    y, backward = layers.GaussianDropout(rate, seed=0).forward(x, True)
    noise = y / x
    assert abs(noise.mean().item() - 1) < 0.01
    assert abs(noise.std().item() - math.sqrt(rate / (1 - rate))) < 0.01
    dy = randn(g, 300, 400)
    leaf = x.clone().requires_grad_(True)
    (dx_ref,) = torch.autograd.grad(leaf * noise, leaf, dy)
    torch.testing.assert_close(backward(dy), dx_ref)


def test_noise_is_drawn_in_float32_whatever_the_dtype():
    x64 = torch.zeros(3, 4, dtype=torch.float64)
    y64, _ = layers.GaussianNoise(0.5, seed=7).forward(x64, True)
    y32, _ = layers.GaussianNoise(0.5, seed=7).forward(x64.float(), True)
    torch.testing.assert_close(y64.float(), y32)


@pytest.mark.parametrize("layer", [
    layers.SpatialDropout1D(0.2, seed=4, name="sd1"),
    layers.SpatialDropout2D(0.3, data_format="channels_first"),
    layers.GaussianNoise(0.1, seed=2), layers.GaussianDropout(0.25),
    layers.ActivityRegularization(l1=0.1, l2=0.02),
])
def test_config_round_trip(layer):
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()


@pytest.mark.parametrize("make, exc, name", [
    (lambda: layers.SpatialDropout1D(1.0), ValueError, "rate"),
    (lambda: layers.SpatialDropout1D(0.1, seed=-1), ValueError, "seed"),
    (lambda: layers.SpatialDropout2D(0.1, data_format="NHWC"), ValueError, "data_format"),
    (lambda: layers.GaussianNoise(-0.1), ValueError, "stddev"),
    (lambda: layers.GaussianNoise(1.5), ValueError, "stddev"),
    (lambda: layers.GaussianNoise("0.1"), ValueError, "stddev"),
    (lambda: layers.GaussianDropout(1.0), ValueError, "rate"),
    (lambda: layers.ActivityRegularization(l1=-1.0), ValueError, "l1"),
    (lambda: layers.ActivityRegularization(l2=math.nan), ValueError, "l2"),
])
def test_bad_arguments_name_them(make, exc, name):
    with pytest.raises(exc, match=name):
        make()


@pytest.mark.parametrize("layer, shape", [(layers.SpatialDropout1D(0.5), (2, 3)),
                                          (layers.SpatialDropout2D(0.5), (2, 3, 4))])
def test_spatial_dropout_rank_checked(layer, shape):
    with pytest.raises(ValueError, match="rank"):
        layer(torch.zeros(shape))


# ---- ActivityRegularization -----------------------------------------------------------------------
def away_from_zero(g, *shape):
    sign = torch.randint(0, 2, shape, generator=g).to(torch.float64) * 2 - 1
    return sign * (torch.rand(shape, generator=g, dtype=torch.float64) + 0.1)


def test_activity_regularization_penalty_is_divided_by_the_batch_size():
    # Keras's own example (Regularizer docstring): an activity L2(0.01) on a (5, 5) output of 2s
    # gives 0.01 * 25 * 4 / 5 = 0.2 per batch.
    layer = layers.ActivityRegularization(l2=0.01)
    x = torch.full((5, 5), 2.0, dtype=torch.float64)
    y = layer(x)
    assert y is x
    assert layer.losses[-1].item() == pytest.approx(0.2)


@SETTINGS
@given(batch=st.sampled_from([1, 2, 5]), features=st.integers(1, 4), l1=st.floats(0, 1),
       l2=st.floats(0, 1), seed=st.integers(0, 2**31 - 1))
def test_activity_regularization_gradient(batch, features, l1, l2, seed):
    g = torch.Generator().manual_seed(seed)
    x, dy = away_from_zero(g, batch, features), randn(g, batch, features)
    layer = layers.ActivityRegularization(l1=l1, l2=l2)
    _, backward = layer.forward(x, True)
    leaf = x.clone().requires_grad_(True)
    total = (leaf * dy).sum() + (l1 * leaf.abs().sum() + l2 * (leaf ** 2).sum()) / batch
    (dx_ref,) = torch.autograd.grad(total, leaf)
    torch.testing.assert_close(backward(dy), dx_ref)
    torch.testing.assert_close(layer.losses[-1],
                               (l1 * x.abs().sum() + l2 * (x ** 2).sum()) / batch)


def test_activity_regularization_central_differences():
    # check_gradients sees sum(r * y); the penalty is added to it here through a wrapper layer
    layer = layers.ActivityRegularization(l1=0.3, l2=0.2)
    x = away_from_zero(torch.Generator().manual_seed(0), 3, 4)
    errors = check_gradients(layers.ActivityRegularization(), x)   # the identity part
    assert errors["input"] < 1e-6
    r = torch.randn(3, 4, dtype=torch.float64)

    def objective():
        y, _ = layer.forward(x, True)
        return float((r * y).sum() + layer.losses[-1])
    _, backward = layer.forward(x, True)
    assert relative_error(backward(r), numeric_gradient(objective, x)) < 1e-6


def test_fit_with_activity_regularization_equals_autograd():
    """Dense -> ActivityRegularization -> Dense, 20 SGD steps of model.fit == autograd."""
    g = torch.Generator().manual_seed(2)
    x, y = randn(g, 40, 3), randn(g, 40, 1)
    model = ks.Sequential([ks.Input((3,)), layers.Dense(4, activation="tanh"),
                           layers.ActivityRegularization(l1=0.01, l2=0.05), layers.Dense(1)])
    model.compile(optimizer=ks.optimizers.SGD(LR), loss="mse")
    params = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    model.fit(x, y, batch_size=2, shuffle=False, verbose=0)
    for step in range(20):
        xb, yb = x[2 * step:2 * step + 2], y[2 * step:2 * step + 2]
        W1, b1, W2, b2 = params
        h = torch.tanh(xb @ W1 + b1)
        loss = ((h @ W2 + b2 - yb) ** 2).mean() + (0.01 * h.abs().sum()
                                                   + 0.05 * (h ** 2).sum()) / 2
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, d in zip(params, grads):
                p.sub_(LR * d)
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_evaluate_reports_the_activity_penalty():
    # Keras adds layer losses to the loss in evaluate too: identity model, mse 0, penalty only
    model = ks.Sequential([ks.Input((2,)), layers.ActivityRegularization(l2=0.5),
                           layers.Dense(2, kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[1.0, 2.0], [3.0, 0.0]])
    loss = model.evaluate(x, np.zeros((2, 2)), verbose=0)
    assert loss == pytest.approx(0.5 * (1 + 4 + 9) / 2)
