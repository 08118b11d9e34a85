"""The ks.ops added beyond the first set: every new backward against central differences and torch
autograd in float64, einsum's equations, the compositions (norm, normalize, moments, split) in a
model against the same ops on data, and the data-only ops against NumPy."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import kerasette as ks
from kerasette import ops
from kerasette.ops.einsum_layer import EinsumOp
from kerasette.ops.elementwise_layers import UnaryOp
from kerasette.testing import check_gradients

TOL = 1e-6


def rand(*shape, seed=0, low=-2.0, high=2.0, away_from=()):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(*shape, generator=g, dtype=torch.float64) * (high - low) + low
    for point in away_from:  # keep finite differences off kinks
        x = torch.where((x - point).abs() < 0.05, x + 0.1, x)
    return x


UNARY = [  # op, input, the same math in torch (its autograd is the oracle)
    ("reciprocal", rand(3, 4, low=0.3), torch.reciprocal),
    ("rsqrt", rand(3, 4, low=0.3), torch.rsqrt),
    ("log1p", rand(3, 4, low=-0.5), torch.log1p),
    ("expm1", rand(3, 4), torch.expm1),
    ("sin", rand(3, 4), torch.sin), ("cos", rand(3, 4), torch.cos),
    ("arctan", rand(3, 4), torch.atan), ("erf", rand(3, 4), torch.erf),
    ("sign", rand(3, 4, away_from=[0.0]), torch.sign),
    ("silu", rand(3, 4), F.silu), ("selu", rand(3, 4, away_from=[0.0]), F.selu),
    ("relu6", rand(3, 4, low=-1, high=7, away_from=[0.0, 6.0]), F.relu6),
    ("hard_sigmoid", rand(3, 4, low=-4, high=4, away_from=[-3.0, 3.0]), F.hardsigmoid),
    ("softsign", rand(3, 4), F.softsign),
    ("gelu_tanh", rand(3, 4), lambda t: F.gelu(t, approximate="tanh")),
]


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("op, x, oracle", UNARY, ids=[c[0] for c in UNARY])
def test_new_unary_backwards_match_central_differences_and_autograd(op, x, oracle):
    layer = UnaryOp(op)
    assert check_gradients(layer, x)["input"] < TOL
    y, backward = layer.forward(x)
    dy = rand(*y.shape, seed=5)
    xr = x.clone().requires_grad_(True)
    yr = oracle(xr)
    yr.backward(dy)
    torch.testing.assert_close(y, yr.detach())
    torch.testing.assert_close(backward(dy), xr.grad)


@pytest.mark.usefixtures("float64")
def test_stop_gradient_passes_values_and_no_gradient():
    x_in = ks.Input((3,))
    first, head = ks.layers.Dense(3), ks.layers.Dense(1)
    model = ks.Model(x_in, head(ops.stop_gradient(first(x_in))))
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss="mse")
    before = first.get_weights()
    model.fit(np.ones((4, 3)), np.zeros((4, 1)), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, first.get_weights()))
    x = rand(2, 3)
    torch.testing.assert_close(ops.stop_gradient(x), x)


def test_public_ops_compute_the_math_on_data():
    x = rand(3, 4, low=0.2)
    for name, want in [("reciprocal", 1 / x), ("rsqrt", x ** -0.5), ("log1p", torch.log1p(x)),
                       ("expm1", torch.expm1(x)), ("sin", torch.sin(x)), ("cos", torch.cos(x)),
                       ("arctan", torch.atan(x)), ("erf", torch.erf(x)), ("sign", torch.sign(x)),
                       ("softplus", F.softplus(x)), ("elu", F.elu(x)), ("silu", F.silu(x)),
                       ("swish", F.silu(x)), ("selu", F.selu(x)), ("relu6", F.relu6(x)),
                       ("hard_sigmoid", F.hardsigmoid(x)), ("softsign", F.softsign(x)),
                       ("gelu", F.gelu(x, approximate="tanh"))]:
        torch.testing.assert_close(getattr(ops, name)(x), want)
    torch.testing.assert_close(ops.leaky_relu(x - 1), F.leaky_relu(x - 1, 0.2))  # Keras's 0.2
    torch.testing.assert_close(ops.gelu(x, approximate=False), F.gelu(x))
    torch.testing.assert_close(ops.true_divide(x, 2.0), x / 2)
    assert ops.rsqrt(np.array([4.0])).tolist() == [0.5]  # arrays, as every op


@pytest.mark.usefixtures("float64")
def test_activation_ops_in_a_model_train_like_autograd():
    x_in = ks.Input((3,))
    dense, head = ks.layers.Dense(4), ks.layers.Dense(1)
    h = dense(x_in)
    out = head(ops.gelu(h) + ops.silu(h) * ops.softplus(h) - ops.elu(h) + ops.leaky_relu(h))
    model = ks.Model(x_in, out)
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    (k, b, v, c) = (torch.tensor(w, requires_grad=True) for w in model.get_weights())
    for i in range(10):
        x, y = rand(8, 3, seed=i), rand(8, 1, seed=50 + i)
        got = model.train_on_batch(x, y)
        z = x @ k + b
        act = F.gelu(z, approximate="tanh") + F.silu(z) * F.softplus(z) - F.elu(z) + \
            F.leaky_relu(z, 0.2)
        loss = ((act @ v + c - y) ** 2).mean()
        grads = torch.autograd.grad(loss, (k, b, v, c))
        with torch.no_grad():
            for p, g in zip((k, b, v, c), grads):
                p -= 0.05 * g
        assert got == pytest.approx(float(loss.detach()), abs=1e-10)
    for got, want in zip(model.get_weights(), (k, b, v, c)):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=0, atol=1e-10)


# ----- einsum ---------------------------------------------------------------------------------------
EQUATIONS = [("bqd,bkd->bqk", (2, 3, 4), (2, 5, 4)), ("ij,jk->ik", (3, 4), (4, 2)),
             ("bij,bj->bi", (2, 3, 4), (2, 4)), ("bi,i->b", (3, 4), (4,)),
             ("bhqk,bhkd->bhqd", (2, 2, 3, 3), (2, 2, 3, 4)), ("bi,bj->bij", (2, 3), (2, 4))]


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("eq, sa, sb", EQUATIONS, ids=[e[0] for e in EQUATIONS])
def test_einsum_gradients_match_central_differences_and_autograd(eq, sa, sb):
    a, b = rand(*sa, seed=1), rand(*sb, seed=2)
    layer = EinsumOp(eq)
    errors = check_gradients(layer, [a, b])
    assert max(errors.values()) < TOL
    y, backward = layer.forward([a, b])
    dy = rand(*y.shape, seed=3)
    ar, br = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    torch.einsum(eq, ar, br).backward(dy)
    da, db = backward(dy)
    torch.testing.assert_close(da, ar.grad)
    torch.testing.assert_close(db, br.grad)


def test_einsum_in_a_graph_infers_shapes_and_refuses_what_it_cannot_differentiate():
    q, k = ks.Input((3, 4)), ks.Input((5, 4))
    scores = ops.einsum("bqd,bkd->bqk", q, k)
    assert scores.shape == (None, 3, 5)
    model = ks.Model([q, k], scores)
    qd, kd = rand(2, 3, 4).float(), rand(2, 5, 4).float()
    torch.testing.assert_close(model.predict([qd, kd], verbose=0),
                               torch.einsum("bqd,bkd->bqk", qd, kd))
    for eq, match in [("bii,bi->bi", "repeated"), ("bqd,bkd->bq", "summed away"),
                      ("...d,...d->...", "letters only"), ("bqd->bdq", "two operands")]:
        with pytest.raises(TypeError, match=match):
            ops.einsum(eq, q, k) if "," in eq else EinsumOp(eq)
    torch.testing.assert_close(ops.einsum("ii->i", torch.eye(3)), torch.ones(3))  # data: any


# ----- compositions -----------------------------------------------------------------------------------
@pytest.mark.usefixtures("float64")
def test_norm_normalize_moments_split_in_a_model_match_the_ops_on_data():
    x_in = ks.Input((6,))
    h = ks.layers.Dense(6)(x_in)
    left, right = ops.split(h, 2, axis=1)
    mean, variance = ops.moments(right, axes=-1, keepdims=True)
    out = ops.concatenate([ops.normalize(left), mean, variance,
                           ops.norm(h, axis=-1, keepdims=True),
                           ops.norm(h, ord=1, axis=-1, keepdims=True)], axis=-1)
    model = ks.Model(x_in, out)
    x = rand(4, 6, seed=3)
    hd = x @ torch.as_tensor(model.get_weights()[0]) + torch.as_tensor(model.get_weights()[1])
    ld, rd = hd[:, :3], hd[:, 3:]
    want = torch.cat([F.normalize(ld, dim=-1), rd.mean(-1, keepdim=True),
                      rd.var(-1, unbiased=False, keepdim=True), hd.norm(dim=-1, keepdim=True),
                      hd.abs().sum(-1, keepdim=True)], -1)
    torch.testing.assert_close(model.predict(x, verbose=0), want)
    parts = ops.split(x, [1, 4], axis=1)
    assert [tuple(p.shape) for p in parts] == [(4, 1), (4, 3), (4, 2)]
    assert math.isclose(float(ops.norm(torch.tensor([3.0, 4.0]))), 5.0)
    with pytest.raises(ValueError, match="batch axis"):
        ops.split(h, 2, axis=0)
    with pytest.raises(ValueError, match="does not divide"):
        ops.split(h, 4, axis=1)
    errors = ks.testing.check_gradients(
        ks.layers.Lambda(lambda t: ops.normalize(t) * ops.norm(t, axis=-1, keepdims=True)),
        rand(3, 4, seed=9))
    assert errors["input"] < TOL


# ----- data only -----------------------------------------------------------------------------------
def test_data_only_ops_match_numpy_and_refuse_symbolic_tensors():
    a = np.array([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]])
    b = np.array([[2.0, 2.0, -3.0], [1.0, 3.0, 2.0]])
    checks = [(ops.mod(a, b), np.mod(a, b)), (ops.floor_divide(a, b), np.floor_divide(a, b)),
              (ops.outer(a[0], b[0]), np.outer(a[0], b[0])), (ops.sort(a), np.sort(a)),
              (ops.argsort(a), np.argsort(a)), (ops.flip(a, 1), np.flip(a, 1)),
              (ops.tile(a, (2, 1)), np.tile(a, (2, 1))), (ops.repeat(a, 2, 0), np.repeat(a, 2, 0)),
              (ops.triu(a), np.triu(a)), (ops.tril(a, -1), np.tril(a, -1)),
              (ops.nan_to_num(np.array([np.nan, 1.0])), np.array([0.0, 1.0])),
              (ops.linspace(0, 1, 5), np.linspace(0, 1, 5)),
              (ops.linspace(0, 1, 4, endpoint=False), np.linspace(0, 1, 4, endpoint=False)),
              (ops.isclose(a, a + 1e-9), np.isclose(a, a + 1e-9))]
    for got, want in checks:
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    values, indices = ops.top_k(a, 2)
    np.testing.assert_allclose(values, [[3.0, 2.0], [4.0, 0.5]])
    assert indices.tolist() == [[0, 2], [1, 0]] and indices.dtype == torch.int32
    with pytest.raises(TypeError, match="has no gradient"):
        ops.sort(ks.Input((3,)))
