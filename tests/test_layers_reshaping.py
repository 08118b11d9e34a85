"""Reshape, Permute, RepeatVector and Identity: forward equal to the torch op, a torch autograd
oracle, central differences, Hypothesis shapes (batch 1 included), shape and argument errors, and
config round trips. (Flatten's tests are in test_layers_core.py.)"""

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasette import layers
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=20, deadline=None)

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def randn(g, *shape):
    return torch.randn(shape, generator=g, dtype=torch.float64)


def check(layer, x, torch_op, seed):
    """Forward equals `torch_op(x)`, backward equals autograd through it, central differences
    agree, dx has x's shape, and compute_output_shape matches the output."""
    g = torch.Generator().manual_seed(seed)
    y, backward = layer.forward(x)
    leaf = x.clone().requires_grad_(True)
    y_ref = torch_op(leaf)
    torch.testing.assert_close(y, y_ref.detach())
    dy = randn(g, *y.shape)
    y_ref.backward(dy)
    dx = backward(dy)
    assert dx.shape == x.shape
    torch.testing.assert_close(dx, leaf.grad)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    errors = check_gradients(layer, x, seed=seed)
    assert set(errors) == {"input"} and errors["input"] < 1e-6, errors
    return y


batches = st.sampled_from([1, 2, 3])
seeds = st.integers(0, 2**31 - 1)


# ---- Reshape -----------------------------------------------------------------------------------
@st.composite
def reshape_cases(draw):
    per_sample = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    size = math.prod(per_sample)
    target, rest = [], size       # factor the size into a new shape
    for _ in range(draw(st.integers(0, 2))):
        d = draw(st.sampled_from([f for f in range(1, rest + 1) if rest % f == 0]))
        target.append(d)
        rest //= d
    target.append(rest)
    target = draw(st.permutations(target))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return (draw(batches), *per_sample), tuple(target), draw(seeds)


@SETTINGS
@given(case=reshape_cases())
def test_reshape(case):
    shape, target, seed = case
    x = randn(torch.Generator().manual_seed(seed), *shape)
    y = check(layers.Reshape(target), x, lambda t: t.reshape(t.shape[0], *target), seed)
    assert -1 not in y.shape and math.prod(y.shape[1:]) == math.prod(shape[1:])


def test_reshape_shapes_as_in_keras():
    assert layers.Reshape((3, 4)).compute_output_shape((None, 12)) == (None, 3, 4)
    assert layers.Reshape((-1, 2, 2)).compute_output_shape((None, 12)) == (None, 3, 2, 2)
    assert layers.Reshape((-1, 2)).compute_output_shape((None, None)) == (None, None, 2)
    assert layers.Reshape([6]).compute_output_shape((5, 2, 3)) == (5, 6)


@pytest.mark.parametrize("target_shape", [12, (3, -1, -1), (0, 3), (-2, 6), (2.0, 6), (True, 12),
                                          None, "34"])
def test_reshape_rejects_bad_target_shapes(target_shape):
    with pytest.raises(ValueError, match="target_shape"):
        layers.Reshape(target_shape)


@pytest.mark.parametrize("target_shape", [(5,), (-1, 5)])
def test_reshape_of_the_wrong_size_names_the_layer_and_shapes(target_shape):
    layer = layers.Reshape(target_shape, name="rs")
    with pytest.raises(ValueError, match=r"'rs'.*\(None, 12\).*target_shape"):
        layer.compute_output_shape((None, 12))
    with pytest.raises(ValueError, match=r"'rs'.*\(2, 12\)"):
        layer.forward(torch.zeros(2, 12))
    with pytest.raises(ValueError, match="rs"):
        layer._maybe_build((2, 12))


# ---- Permute -----------------------------------------------------------------------------------
@st.composite
def permute_cases(draw):
    per_sample = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    dims = tuple(draw(st.permutations(range(1, len(per_sample) + 1))))
    return (draw(batches), *per_sample), dims, draw(seeds)


@SETTINGS
@given(case=permute_cases())
def test_permute(case):
    shape, dims, seed = case
    x = randn(torch.Generator().manual_seed(seed), *shape)
    y = check(layers.Permute(dims), x, lambda t: t.permute(0, *dims), seed)
    assert y.shape == (shape[0], *(shape[d] for d in dims))


def test_permute_shapes_as_in_keras():
    assert layers.Permute((2, 1)).compute_output_shape((None, 10, 64)) == (None, 64, 10)
    assert layers.Permute((3, 1, 2)).compute_output_shape((None, 2, None, 4)) == (None, 4, 2, None)


@pytest.mark.parametrize("dims", [(0, 1), (1, 3), (2, 2), (1.0, 2), 2, None, (True,)])
def test_permute_rejects_bad_dims(dims):
    with pytest.raises(ValueError, match="dims"):
        layers.Permute(dims)


def test_permute_checks_the_rank():
    layer = layers.Permute((2, 1), name="perm")
    for call in (lambda: layer.compute_output_shape((None, 3)),
                 lambda: layer.forward(torch.zeros(2, 3, 4, 5)),
                 lambda: layers.Permute((2, 1), name="perm")._maybe_build((2, 3))):
        with pytest.raises(ValueError, match=r"'perm'.*rank 3"):
            call()


# ---- RepeatVector ------------------------------------------------------------------------------
@SETTINGS
@given(batch=batches, features=st.integers(1, 5), n=st.integers(1, 4), seed=seeds)
def test_repeat_vector(batch, features, n, seed):
    x = randn(torch.Generator().manual_seed(seed), batch, features)
    y = check(layers.RepeatVector(n), x, lambda t: t.unsqueeze(1).repeat(1, n, 1), seed)
    assert y.shape == (batch, n, features) and y.is_contiguous()
    assert layers.RepeatVector(n).compute_output_shape((None, features)) == (None, n, features)


@pytest.mark.parametrize("n,error", [(0, ValueError), (-2, ValueError), (2.0, TypeError),
                                     (True, TypeError), ("3", TypeError), (None, TypeError)])
def test_repeat_vector_rejects_bad_n(n, error):
    with pytest.raises(error, match="Invalid n"):
        layers.RepeatVector(n)


def test_repeat_vector_needs_rank_2():
    layer = layers.RepeatVector(3, name="rep")
    with pytest.raises(ValueError, match=r"'rep'.*\(batch, features\).*\(2, 3, 4\)"):
        layer.forward(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="rep"):
        layer.compute_output_shape((None, 3, 4))


# ---- Identity ----------------------------------------------------------------------------------
@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple), seed=seeds)
def test_identity(shape, seed):
    x = randn(torch.Generator().manual_seed(seed), *shape)
    layer = layers.Identity()
    check(layer, x, lambda t: t.view_as(t), seed)
    y, backward = layer.forward(x)
    dy = torch.ones_like(x)
    assert y is x and backward(dy) is dy


def test_identity_on_a_list():
    a, b = torch.randn(2, 3), torch.randn(2, 4)
    layer = layers.Identity()
    ys, backward = layer.forward([a, b])
    assert ys[0] is a and ys[1] is b
    dxs = backward([a + 1, b + 1])
    assert isinstance(dxs, tuple) and len(dxs) == 2
    assert layer.compute_output_shape([(None, 3), (None, 4)]) == [(None, 3), (None, 4)]
    errors = check_gradients(layer, [a, b])
    assert set(errors) == {"input_0", "input_1"} and max(errors.values()) < 1e-8
    with pytest.raises(TypeError, match="Identity"):
        layer.forward("x")


# ---- config ------------------------------------------------------------------------------------
ALL = [lambda: layers.Reshape((-1, 2), name="r"), lambda: layers.Permute([2, 1]),
       lambda: layers.RepeatVector(3, trainable=False), lambda: layers.Identity(),
       lambda: layers.Identity(input_shape=(3,))]


@pytest.mark.parametrize("make", ALL)
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = type(layer).from_config(config)
    assert type(clone) is type(layer) and clone.get_config() == config
    again = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    assert type(again) is type(layer) and again.get_config() == config
    assert layer.weights == [] and layer.count_params() == 0


def test_configs_hold_keras_arguments():
    assert layers.Reshape((3, 4)).get_config()["target_shape"] == [3, 4]
    assert layers.Reshape((3, 4)).target_shape == (3, 4)
    assert layers.Permute((2, 1)).get_config()["dims"] == [2, 1]
    assert layers.RepeatVector(5).get_config()["n"] == 5
