"""Dropout: identity at inference, inverted-dropout statistics and scaling in training, the
backward using the forward's mask, seeded reproducibility, and argument validation."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasette import layers
from kerasette.random_state import set_random_seed
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=25, deadline=None)


pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def test_identity_when_not_training_or_rate_zero():
    x, dy = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    for layer, training in [(layers.Dropout(0.5), False), (layers.Dropout(0.0), True)]:
        y, backward = layer.forward(x, training=training)
        assert y is x and backward(dy) is dy
    assert layers.Dropout(0.5)(x) is x  # __call__ defaults to inference


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.9])
def test_statistics_and_scaling(rate):
    x = torch.randn(400, 500, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y, _ = layers.Dropout(rate, seed=1).forward(x, training=True)
    kept = y != 0
    # 200,000 entries: the dropped fraction is within 5 standard deviations of rate
    assert abs((~kept).double().mean().item() - rate) < 5 * math.sqrt(rate * (1 - rate) / x.numel())
    torch.testing.assert_close(y[kept], x[kept] / (1 - rate))
    # inverted dropout keeps the mean: E[y] = x
    ones = torch.ones(400, 500, dtype=torch.float64)
    y1, _ = layers.Dropout(rate, seed=2).forward(ones, training=True)
    assert abs(y1.mean().item() - 1) < 5 * math.sqrt(rate / (1 - rate) / x.numel())


@SETTINGS
@given(shape=st.lists(st.integers(1, 8), min_size=1, max_size=4).map(tuple),
       rate=st.floats(0.05, 0.95), seed=st.integers(0, 2**31 - 1))
def test_backward_uses_the_forward_mask(shape, rate, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=torch.float64) + 0.5     # nonzero: y == 0 <=> dropped
    dy = torch.randn(shape, generator=g, dtype=torch.float64)
    layer = layers.Dropout(rate, seed=seed)
    y, backward = layer.forward(x, training=True)
    layer.forward(x, training=True)  # a later forward draws a new mask; the closure keeps its own
    dx = backward(dy)
    mask = (y != 0).double() / (1 - rate)
    torch.testing.assert_close(y, x * mask)
    # autograd oracle: the same mask applied with torch ops
    x_ref = x.clone().requires_grad_(True)
    (x_ref * mask).backward(dy)
    torch.testing.assert_close(dx, x_ref.grad)
    assert torch.equal(dx == 0, y == 0)


def test_check_gradients_at_inference():
    x = torch.randn(3, 4, dtype=torch.float64)
    assert check_gradients(layers.Dropout(0.5), x)["input"] < 1e-6


def test_seeded_layers_draw_the_same_masks():
    x = torch.ones(50, 40, dtype=torch.float64)
    a, b, c = layers.Dropout(0.5, seed=1), layers.Dropout(0.5, seed=1), layers.Dropout(0.5, seed=2)
    a1, a2 = a.forward(x, True)[0], a.forward(x, True)[0]
    b1, b2 = b.forward(x, True)[0], b.forward(x, True)[0]
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, a2)                      # a new mask each step
    assert not torch.equal(a1, c.forward(x, True)[0])   # another seed, other masks
    # the same entries are dropped in float32 and float64
    f32 = layers.Dropout(0.5, seed=1).forward(x.float(), True)[0]
    assert torch.equal(f32 != 0, a1 != 0)


def test_unseeded_layers_follow_set_random_seed_and_leave_torchs_rng_alone():
    x = torch.ones(20, 30, dtype=torch.float64)
    set_random_seed(7)
    first = layers.Dropout(0.5).forward(x, True)[0]
    set_random_seed(7)
    torch_state = torch.get_rng_state()
    again = layers.Dropout(0.5).forward(x, True)[0]
    assert torch.equal(first, again)
    assert torch.equal(torch.get_rng_state(), torch_state)


@pytest.mark.parametrize("rate", [1.5, -0.1, 1.0, float("nan"), float("inf")])
def test_bad_rate_values(rate):
    with pytest.raises(ValueError, match=r"rate.*\[0, 1\)"):
        layers.Dropout(rate)


@pytest.mark.parametrize("rate", ["0.5", True, None])
def test_bad_rate_types(rate):
    with pytest.raises(TypeError, match="rate"):
        layers.Dropout(rate)


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        layers.Dropout(0.5, seed=-1)


def test_config_round_trip():
    layer = layers.Dropout(0.25, seed=3, name="drop")
    config_ = layer.get_config()
    assert config_ == {"name": "drop", "trainable": True, "rate": 0.25, "seed": 3}
    clone = layers.deserialize(layers.serialize(layer))
    assert clone.get_config() == config_
    x = torch.ones(10, 10, dtype=torch.float64)
    assert torch.equal(clone.forward(x, True)[0], layer.forward(x, True)[0])
