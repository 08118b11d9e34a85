"""ks.ops: values, dtypes and shapes on data (against NumPy / torch), the op layers' backwards
(float64 central differences and a torch-autograd oracle of the same math), argument errors, and
the ops inside functional models (symbolic tensors from ks.Input)."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette import ops
from kerasette.ops.elementwise_layers import BinaryOp, UnaryOp
from kerasette.ops.get_item import GetItemOp
from kerasette.ops.reduction_layers import ReduceOp
from kerasette.ops.select_layers import CompareOp, WhereOp
from kerasette.ops.shape_layers import (
    ConcatenateOp,
    ExpandDimsOp,
    ReshapeOp,
    SqueezeOp,
    StackOp,
    TransposeOp,
)
from kerasette.testing import check_gradients

TOL = 1e-6


def rand(*shape, seed=0, low=-2.0, high=2.0, away_from=None):
    """Uniform float64 data; with `away_from`, no entry within 0.1 of those points (kinks)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.empty(shape, dtype=torch.float64).uniform_(low, high, generator=g)
    for p in away_from or ():
        near = (x - p).abs() < 0.1
        x = torch.where(near, x + 0.25 * torch.sign(x - p + 1e-12), x)
    return x


# ----- on data --------------------------------------------------------------------------------------
def test_creation_ops_follow_keras_dtypes():
    assert ops.ones((2, 3)).dtype == torch.float32 and ops.ones(4).shape == (4,)
    assert ops.zeros((2,), dtype="int32").dtype == torch.int32
    assert ops.full((2, 2), 7).dtype == torch.int32 and ops.full((2,), 0.5).dtype == torch.float32
    assert ops.arange(5).tolist() == [0, 1, 2, 3, 4] and ops.arange(5).dtype == torch.int32
    assert ops.arange(1, 2, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75]
    assert ops.arange(1, 2, 0.25).dtype == torch.float32
    np.testing.assert_array_equal(ops.eye(3, 4, k=1).numpy(), np.eye(3, 4, k=1))
    np.testing.assert_array_equal(ops.eye(3, k=-1).numpy(), np.eye(3, k=-1))


def test_conversions():
    t = ops.convert_to_tensor([[1, 2], [3, 4]])
    assert isinstance(t, torch.Tensor) and t.dtype == torch.int32
    assert ops.convert_to_tensor([1.5]).dtype == torch.float32
    assert ops.convert_to_tensor(np.zeros(2)).dtype == torch.float64  # NumPy keeps its dtype
    assert ops.convert_to_tensor(3, dtype="float64").dtype == torch.float64
    x = torch.ones(2)
    assert ops.convert_to_tensor(x) is x
    assert isinstance(ops.convert_to_numpy(x), np.ndarray)
    opt = ks.optimizers.SGD(0.1)
    assert ops.convert_to_numpy(opt.learning_rate) == np.float32(0.1)
    assert ops.cast(torch.tensor([1.7, -1.2]), "int32").tolist() == [1, -1]
    assert ops.cast([1, 2], "float64").dtype == torch.float64


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "maximum", "minimum"])
def test_binary_math_broadcasts_like_numpy(name):
    a, b = rand(3, 1, 4), rand(2, 1, seed=1, low=0.5)
    got = getattr(ops, name)(a, b)
    want = getattr(np, {"maximum": "maximum"}.get(name, name))(a.numpy(), b.numpy())
    np.testing.assert_allclose(got.numpy(), want)
    assert isinstance(getattr(ops, name)(2, 3), torch.Tensor)
    assert ops.divide(1, 2).item() == 0.5


def test_matmul_and_dot():
    a, b = rand(2, 3, 4), rand(4, 5, seed=1)
    np.testing.assert_allclose(ops.matmul(a, b).numpy(), a.numpy() @ b.numpy())
    v = rand(4, seed=2)
    np.testing.assert_allclose(ops.matmul(a, v).numpy(), a.numpy() @ v.numpy())
    np.testing.assert_allclose(ops.dot(rand(2, 4), b).numpy(), rand(2, 4).numpy() @ b.numpy())
    assert ops.dot(2.0, torch.ones(3)).tolist() == [2.0] * 3


def test_unary_math():
    x = rand(3, 4, low=0.1)
    for name in ("exp", "log", "sqrt", "square", "abs", "negative", "tanh"):
        np.testing.assert_allclose(getattr(ops, name)(x).numpy(),
                                   getattr(np, name)(x.numpy()), rtol=1e-12)
    np.testing.assert_allclose(ops.clip(x, 0.5, 1.0).numpy(), np.clip(x.numpy(), 0.5, 1.0))
    assert ops.exp([0, 1]).dtype == torch.float32  # ints become floatx, as in Keras
    assert ops.absolute is ops.abs


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), [1, 2]])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "std", "var"])
def test_reductions_match_numpy(name, axis, keepdims):
    x = rand(2, 3, 4)
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    want = getattr(np, name)(x.numpy(), axis=np_axis, keepdims=keepdims)
    got = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_reduction_dtypes_and_initial():
    assert ops.mean([1, 2]).dtype == torch.float32 and ops.mean([1, 2]).item() == 1.5
    assert ops.max(torch.tensor([1.0, 2.0]), initial=5.0).item() == 5.0
    assert ops.min(torch.tensor([1.0, 2.0]), initial=-1.0).item() == -1.0


@pytest.mark.parametrize("axis, keepdims", [(None, False), (None, True), (1, False), (-1, True)])
def test_argmax_argmin(axis, keepdims):
    x = rand(3, 4)
    for name in ("argmax", "argmin"):
        got = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
        want = getattr(np, name)(x.numpy(), axis=axis, keepdims=keepdims)
        assert got.dtype == torch.int32
        np.testing.assert_array_equal(got.numpy(), want)


def test_shape_ops_match_numpy():
    x = rand(2, 3, 4)
    assert ops.reshape(x, (4, -1)).shape == (4, 6)
    np.testing.assert_array_equal(ops.transpose(x).numpy(), x.numpy().T)
    np.testing.assert_array_equal(ops.transpose(x, (1, 0, 2)).numpy(),
                                  np.transpose(x.numpy(), (1, 0, 2)))
    assert ops.expand_dims(x, 1).shape == (2, 1, 3, 4)
    assert ops.expand_dims(x, (0, -1)).shape == (1, 2, 3, 4, 1)
    assert ops.squeeze(rand(1, 3, 1)).shape == (3,)
    assert ops.squeeze(rand(1, 3, 1), axis=-1).shape == (1, 3)
    np.testing.assert_array_equal(ops.concatenate([x, x], axis=1).numpy(),
                                  np.concatenate([x.numpy()] * 2, axis=1))
    np.testing.assert_array_equal(ops.stack([x, 2 * x], axis=-1).numpy(),
                                  np.stack([x.numpy(), 2 * x.numpy()], axis=-1))


def test_nn_ops():
    x = rand(3, 5)
    np.testing.assert_allclose(ops.relu(x).numpy(), np.maximum(x.numpy(), 0))
    np.testing.assert_allclose(ops.sigmoid(x).numpy(), 1 / (1 + np.exp(-x.numpy())), rtol=1e-12)
    e = np.exp(x.numpy() - x.numpy().max(0, keepdims=True))
    np.testing.assert_allclose(ops.softmax(x, axis=0).numpy(), e / e.sum(0), rtol=1e-12)
    np.testing.assert_allclose(ops.log_softmax(x).numpy(),
                               torch.nn.functional.log_softmax(x, -1).numpy(), rtol=1e-12)
    assert ops.nn.relu is ops.relu and ops.nn.tanh is ops.tanh
    hot = ops.one_hot(torch.tensor([0, 2, -1]), 3)
    assert hot.dtype == torch.float32
    assert hot.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert ops.one_hot([[1], [0]], 2, axis=0).shape == (2, 2, 1)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: ops.ones(-1), ValueError, "shape"),
    (lambda: ops.zeros((2, 2), dtype="float8"), ValueError, "dtype"),
    (lambda: ops.arange(0, 5, 0), ValueError, "step"),
    (lambda: ops.sum(rand(2, 3), axis=2), ValueError, "axis"),
    (lambda: ops.mean(rand(2, 3), axis=(0, 0)), ValueError, "axis"),
    (lambda: ops.argmax(rand(2, 3), axis=3), ValueError, "axis"),
    (lambda: ops.transpose(rand(2, 3), (0, 0)), ValueError, "axes"),
    (lambda: ops.squeeze(rand(2, 3), axis=0), ValueError, "axis"),
    (lambda: ops.one_hot([1, 2], 0), ValueError, "num_classes"),
    (lambda: ops.one_hot([0.5], 2), TypeError, "x"),
    (lambda: ops.convert_to_tensor("abc"), TypeError, "x"),
    (lambda: ops.convert_to_tensor([1], sparse=True), ValueError, "sparse"),
    (lambda: ReshapeOp((2, -1, -1)), ValueError, "newshape"),
    (lambda: UnaryOp("cube"), ValueError, "op"),
    (lambda: BinaryOp("power"), ValueError, "op"),
    (lambda: ReduceOp("median"), ValueError, "op"),
])
def test_bad_arguments_raise(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----- the op layers' backwards ----------------------------------------------------------------------
def _oracle_unary(op, **p):
    t = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "square": torch.square,
         "abs": torch.abs, "negative": torch.negative,
         "clip": lambda x: torch.clamp(x, p.get("x_min"), p.get("x_max")),
         "log_softmax": lambda x: torch.nn.functional.log_softmax(x, p.get("axis", -1)),
         "cast": lambda x: x.to(torch.float32),
         "power": lambda x: torch.pow(x, p.get("exponent"))}[op]
    return t


UNARY_CASES = [
    ("exp", {}, rand(3, 4)), ("log", {}, rand(3, 4, low=0.2)), ("sqrt", {}, rand(3, 4, low=0.2)),
    ("square", {}, rand(3, 4)), ("abs", {}, rand(3, 4, away_from=[0.0])),
    ("negative", {}, rand(2, 5)),
    ("clip", {"x_min": -0.5, "x_max": 1.0}, rand(4, 5, away_from=[-0.5, 1.0])),
    ("log_softmax", {"axis": -1}, rand(3, 4)), ("log_softmax", {"axis": 0}, rand(3, 4)),
    ("power", {"exponent": 3.0}, rand(3, 4)), ("power", {"exponent": 1.5}, rand(3, 4, low=0.2)),
    ("power", {"exponent": -2.0}, rand(3, 4, low=0.5)),
]


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("op, params, x", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
def test_unary_layers_gradients(op, params, x):
    layer = UnaryOp(op, params)
    errors = check_gradients(layer, x)
    assert errors["input"] < TOL
    y, backward = layer.forward(x)
    dy = rand(*y.shape, seed=5)
    xr = x.clone().requires_grad_(True)
    yr = _oracle_unary(op, **params)(xr)
    yr.backward(dy)
    torch.testing.assert_close(y, yr.detach())
    torch.testing.assert_close(backward(dy), xr.grad)


def test_cast_layer_gradient_goes_back_to_the_input_dtype():
    layer = UnaryOp("cast", {"dtype": "float32"})
    x = rand(2, 3)
    y, backward = layer.forward(x)
    assert y.dtype == torch.float32 and backward(torch.ones(2, 3)).dtype == torch.float64


BINARY_CASES = [
    ("add", (2, 3, 4), (3, 1)), ("subtract", (2, 1), (3,)), ("multiply", (4, 1, 3), (2, 3)),
    ("divide", (3, 4), (4,)), ("maximum", (3, 4), (3, 1)), ("minimum", (2, 3), (2, 3)),
    ("matmul", (2, 3, 4), (4, 5)), ("matmul", (3, 4), (2, 4, 5)), ("matmul", (4,), (4, 2)),
    ("matmul", (2, 4), (4,)), ("matmul", (4,), (4,)), ("matmul", (2, 1, 3, 4), (5, 4, 2)),
]
TORCH_BINARY = {"add": torch.add, "subtract": torch.subtract, "multiply": torch.multiply,
                "divide": torch.divide, "maximum": torch.maximum, "minimum": torch.minimum,
                "matmul": torch.matmul}


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("op, sa, sb", BINARY_CASES, ids=[f"{c[0]}{c[1]}{c[2]}" for c in
                                                         BINARY_CASES])
def test_binary_layers_gradients_with_broadcasting(op, sa, sb):
    a = rand(*sa, seed=1)
    b = rand(*sb, seed=2, low=0.5) if op == "divide" else rand(*sb, seed=2)
    layer = BinaryOp(op)
    errors = check_gradients(layer, [a, b])
    assert errors["input_0"] < TOL and errors["input_1"] < TOL
    y, backward = layer.forward([a, b])
    dy = rand(*y.shape, seed=3)
    ar, br = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    yr = TORCH_BINARY[op](ar, br)
    yr.backward(dy)
    da, db = backward(dy)
    torch.testing.assert_close(y, yr.detach())
    torch.testing.assert_close(da, ar.grad)
    torch.testing.assert_close(db, br.grad)
    assert layer.compute_output_shape([sa, sb]) == tuple(y.shape)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("op", ["subtract", "divide", "matmul"])
def test_binary_layer_with_a_constant(op, first):
    x = rand(3, 4)
    c = rand(4, seed=7, low=0.5)
    if op == "matmul":
        c = rand(2, 3, seed=7) if first else rand(4, 4, seed=7)
    if op == "divide" and first:
        x = rand(3, 4, low=0.5)
    layer = BinaryOp(op, constant=c, constant_first=first)
    assert check_gradients(layer, x)["input"] < TOL
    y, backward = layer.forward(x)
    xr = x.clone().requires_grad_(True)
    yr = TORCH_BINARY[op](c, xr) if first else TORCH_BINARY[op](xr, c)
    dy = rand(*y.shape, seed=3)
    yr.backward(dy)
    torch.testing.assert_close(backward(dy), xr.grad)
    again = BinaryOp.from_config(layer.get_config())
    torch.testing.assert_close(again.forward(x)[0], y)


def test_maximum_splits_the_gradient_on_ties_as_torch_does():
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    b = torch.tensor([1.0, 1.0, 4.0], dtype=torch.float64)
    _, backward = BinaryOp("maximum").forward([a, b])
    da, db = backward(torch.ones(3, dtype=torch.float64))
    ar, br = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    torch.maximum(ar, br).sum().backward()
    torch.testing.assert_close(da, ar.grad)
    torch.testing.assert_close(db, br.grad)


TORCH_REDUCE = {
    "sum": lambda x, a, k: x.sum(a, keepdim=k), "mean": lambda x, a, k: x.mean(a, keepdim=k),
    "max": lambda x, a, k: torch.amax(x, a, keepdim=k),
    "min": lambda x, a, k: torch.amin(x, a, keepdim=k),
    "var": lambda x, a, k: torch.var(x, a, correction=0, keepdim=k),
    "std": lambda x, a, k: torch.std(x, a, correction=0, keepdim=k),
}


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (1, True), ((0, 2), False),
                                            (-1, True)])
@pytest.mark.parametrize("op", list(TORCH_REDUCE))
def test_reduce_layers_gradients(op, axis, keepdims):
    x = rand(2, 3, 4, seed=4)  # continuous data: no ties for max / min
    layer = ReduceOp(op, axis=axis, keepdims=keepdims)
    assert check_gradients(layer, x)["input"] < TOL
    y, backward = layer.forward(x)
    dy = rand(*y.shape, seed=6)
    xr = x.clone().requires_grad_(True)
    dims = tuple(range(3)) if axis is None else axis
    yr = TORCH_REDUCE[op](xr, dims, keepdims)
    yr.backward(dy)
    torch.testing.assert_close(y, yr.detach())
    torch.testing.assert_close(backward(dy), xr.grad)
    assert layer.compute_output_shape((2, 3, 4)) == tuple(y.shape)


def test_reduce_max_shares_the_gradient_between_ties():
    x = torch.tensor([[1.0, 3.0, 3.0]], dtype=torch.float64)
    _, backward = ReduceOp("max", axis=1).forward(x)
    xr = x.clone().requires_grad_(True)
    torch.amax(xr, 1).sum().backward()
    torch.testing.assert_close(backward(torch.ones(1, dtype=torch.float64)), xr.grad)


SHAPE_CASES = [
    (lambda: ReshapeOp((-1, 6)), (2, 3, 2), lambda x: x.reshape(-1, 6)),
    (lambda: TransposeOp(), (2, 3, 4), lambda x: x.permute(2, 1, 0)),
    (lambda: TransposeOp((0, 2, 1)), (2, 3, 4), lambda x: x.permute(0, 2, 1)),
    (lambda: ExpandDimsOp(1), (2, 3), lambda x: x.unsqueeze(1)),
    (lambda: ExpandDimsOp((0, -1)), (2, 3), lambda x: x.unsqueeze(0).unsqueeze(-1)),
    (lambda: SqueezeOp(), (2, 1, 3, 1), lambda x: x.squeeze()),
    (lambda: SqueezeOp(-1), (2, 1, 3, 1), lambda x: x.squeeze(-1)),
]


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("make, shape, oracle", SHAPE_CASES)
def test_shape_layers_gradients(make, shape, oracle):
    layer, x = make(), rand(*shape, seed=8)
    assert check_gradients(layer, x)["input"] < TOL
    y, backward = layer.forward(x)
    xr = x.clone().requires_grad_(True)
    dy = rand(*y.shape, seed=9)
    oracle(xr).backward(dy)
    torch.testing.assert_close(y, oracle(x))
    torch.testing.assert_close(backward(dy), xr.grad)
    assert layer.compute_output_shape(tuple(x.shape)) == tuple(y.shape)
    again = type(layer).from_config(layer.get_config())
    torch.testing.assert_close(again.forward(x)[0], y)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("layer, oracle", [
    (ConcatenateOp(axis=1), lambda xs: torch.cat(xs, 1)),
    (StackOp(axis=-1), lambda xs: torch.stack(xs, -1)),
])
def test_several_input_shape_layers_gradients(layer, oracle):
    xs = [rand(2, 3, seed=1), rand(2, 3, seed=2)]
    errors = check_gradients(layer, xs)
    assert errors["input_0"] < TOL and errors["input_1"] < TOL
    y, backward = layer.forward(xs)
    rs = [x.clone().requires_grad_(True) for x in xs]
    dy = rand(*y.shape, seed=3)
    oracle(rs).backward(dy)
    for dx, r in zip(backward(dy), rs):
        torch.testing.assert_close(dx, r.grad)
    assert layer.compute_output_shape([(2, 3), (2, 3)]) == tuple(y.shape)


# ----- in functional models ------------------------------------------------------------------------
def test_ops_build_graph_nodes_and_the_model_trains():
    ks.utils.set_random_seed(0)
    x = torch.randn(256, 4)
    y = torch.exp(0.5 * x[:, :1] - 0.25 * x[:, 1:2])
    inputs = ks.Input((4,))
    outputs = ks.ops.exp(ks.layers.Dense(1)(inputs))
    model = ks.Model(inputs, outputs)
    model.compile(optimizer=ks.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
    assert any(isinstance(layer, UnaryOp) for layer in model._graph_layers())


def test_a_chain_of_ops_in_a_model_matches_the_same_ops_on_data():
    inputs = ks.Input((3, 4))
    h = ks.ops.reshape(inputs, (-1, 12))
    h = ks.ops.concatenate([ks.ops.square(h), ks.ops.multiply(h, 2.0)], axis=-1)
    h = ks.ops.expand_dims(ks.ops.mean(ks.ops.transpose(ks.layers.Dense(5)(h), (0, 1)), axis=-1), 1)
    h = ks.ops.add(h, ks.ops.expand_dims(ks.ops.std(inputs, axis=(1, 2)), 1))
    outputs = ks.ops.maximum(ks.ops.sigmoid(h), 0.3)
    model = ks.Model(inputs, outputs)
    x = torch.randn(6, 3, 4)
    dense = model.layers[[type(layer).__name__ for layer in model.layers].index("Dense")]
    r = x.reshape(-1, 12)
    want = (torch.cat([r * r, r * 2], -1) @ dense.kernel.value + dense.bias.value).mean(-1)[:, None]
    want = torch.maximum(torch.sigmoid(want + x.std((1, 2), correction=0)[:, None]),
                         torch.tensor(0.3))
    torch.testing.assert_close(model.predict(x, verbose=0), want)


@pytest.mark.parametrize("name, call", [
    ("argmax", lambda t: ks.ops.argmax(t, axis=-1)),
    ("argmin", lambda t: ks.ops.argmin(t)),
    ("one_hot", lambda t: ks.ops.one_hot(t, 3)),
    ("cast to int32", lambda t: ks.ops.cast(t, "int32")),
])
def test_ops_without_a_gradient_refuse_symbolic_tensors(name, call):
    inputs = ks.Input((4,))
    with pytest.raises(TypeError, match=rf"ks.ops.{name} has no gradient.*exp.*softmax"):
        call(inputs)


@pytest.mark.parametrize("call", [ks.ops.convert_to_numpy, ks.ops.convert_to_tensor])
def test_conversions_refuse_symbolic_tensors(call):
    with pytest.raises(TypeError, match="symbolic"):
        call(ks.Input((2,)))


@pytest.mark.parametrize("layer", [
    UnaryOp("clip", {"x_min": -1.0, "x_max": 2.0}), BinaryOp("multiply", constant=[1.0, 2.0]),
    ReduceOp("std", axis=(0, 1), keepdims=True), ReshapeOp((-1, 2)), TransposeOp((1, 0)),
    ExpandDimsOp((0, 2)), SqueezeOp(1), ConcatenateOp(-1), StackOp(1),
])
def test_op_layers_serialize_through_json(layer):
    spec = json.loads(json.dumps(ks.layers.serialize(layer)))
    again = ks.layers.deserialize(spec)
    assert type(again) is type(layer) and again.get_config() == layer.get_config()


def test_model_with_op_layers_saves_and_loads(tmp_path):
    inputs = ks.Input((4,))
    h = ks.ops.multiply(ks.ops.sqrt(ks.ops.abs(ks.layers.Dense(3)(inputs))), 2.0)
    outputs = ks.ops.sum(h, axis=-1, keepdims=True)
    model = ks.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x = torch.randn(5, 4)
    path = tmp_path / "m.keras"
    model.save(path)
    again = ks.models.load_model(path)
    torch.testing.assert_close(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_every_listed_differentiable_op_exists():
    assert all(callable(getattr(ops, name)) for name in ops.DIFFERENTIABLE)
    assert math.isclose(float(ops.sum(ops.ones((2, 2)))), 4.0)


# ----- data-only ops ----------------------------------------------------------------------------------
def test_data_only_ops_match_numpy():
    a, b = rand(3, 4, seed=1), rand(3, 4, seed=2)
    an, bn = a.numpy(), b.numpy()
    for name in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal"):
        np.testing.assert_array_equal(getattr(ops, name)(a, b).numpy(), getattr(np, name)(an, bn))
    np.testing.assert_array_equal(ops.logical_and(a > 0, b > 0).numpy(), (an > 0) & (bn > 0))
    np.testing.assert_array_equal(ops.logical_or(a > 0, b > 0).numpy(), (an > 0) | (bn > 0))
    np.testing.assert_array_equal(ops.logical_not(a > 0).numpy(), ~(an > 0))
    np.testing.assert_array_equal(ops.where(a > 0, a, b).numpy(), np.where(an > 0, an, bn))
    assert [t.tolist() for t in ops.where([[1, 0], [0, 1]])] == [[0, 1], [0, 1]]
    assert ops.shape(a) == (3, 4)
    assert ops.broadcast_to(torch.ones(4), (3, 4)).shape == (3, 4)
    np.testing.assert_allclose(ops.power(a.abs(), b).numpy(), np.power(np.abs(an), bn))
    for name in ("sign", "floor", "ceil", "round", "log1p", "isnan", "isfinite"):
        x = a.abs() if name == "log1p" else a
        np.testing.assert_allclose(getattr(ops, name)(x).numpy(), getattr(np, name)(x.numpy()))
    assert ops.zeros_like(a, dtype="int32").dtype == torch.int32 and ops.ones_like(a).sum() == 12
    np.testing.assert_allclose(ops.logsumexp(a, axis=1).numpy(),
                               np.log(np.exp(an).sum(1)), rtol=1e-12)
    np.testing.assert_allclose(ops.prod(a, axis=(0, 1)).numpy(), np.prod(an), rtol=1e-12)
    np.testing.assert_array_equal(ops.cumsum(a, axis=1).numpy(), np.cumsum(an, axis=1))
    np.testing.assert_array_equal(ops.cumsum(a).numpy(), np.cumsum(an))
    np.testing.assert_array_equal(ops.any(a > 1.5, axis=0).numpy(), np.any(an > 1.5, axis=0))
    np.testing.assert_array_equal(ops.all(a > -3, keepdims=True).numpy(),
                                  np.all(an > -3, keepdims=True))


def test_keras_metric_docstring_idiom_runs():
    """Keras's Metric docstring counts true positives with these ops."""
    y_true, y_pred = torch.tensor([1, 0, 1, 1]), torch.tensor([0.9, 0.8, 0.2, 0.7])
    y_true, y_pred = ops.cast(y_true, "bool"), ops.greater(y_pred, 0.5)
    values = ops.cast(ops.logical_and(ops.equal(y_true, True), ops.equal(y_pred, True)), "float32")
    weights = ops.broadcast_to(ops.cast(torch.tensor(2.0), "float32"), ops.shape(values))
    assert float(ops.sum(ops.multiply(values, weights))) == 4.0


@pytest.mark.parametrize("call", [lambda t: ops.isnan(t), lambda t: ops.where(t),
                                  lambda t: ops.cumsum(t)])
def test_data_only_ops_refuse_symbolic_tensors(call):
    with pytest.raises(TypeError, match="has no gradient.*exp"):
        call(ks.Input((3,)))


# ----- broadcasting backward, property-based ----------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_binary_backward_matches_autograd_for_any_broadcast(data):
    op = data.draw(st.sampled_from(["add", "subtract", "multiply", "divide", "maximum"]))
    out = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    shapes = []
    for _ in range(2):
        cut = data.draw(st.integers(0, len(out)))
        ones = data.draw(st.lists(st.booleans(), min_size=len(out) - cut, max_size=len(out) - cut))
        shapes.append(tuple(1 if one else n for one, n in zip(ones, out[cut:])))
    seed = data.draw(st.integers(0, 2**16))
    a = rand(*shapes[0], seed=seed, low=0.5, high=2.0)
    b = -rand(*shapes[1], seed=seed + 1, low=0.5, high=2.0)  # a > 0 > b: no ties, no b == 0
    y, backward = BinaryOp(op).forward([a, b])
    ar, br = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    dy = rand(*y.shape, seed=seed + 2)
    TORCH_BINARY[op](ar, br).backward(dy)
    da, db = backward(dy)
    torch.testing.assert_close(da, ar.grad)
    torch.testing.assert_close(db, br.grad)


# ----- x[key] on symbolic tensors (kerasette/ops/get_item.py) --------------------------------------
GET_ITEM_KEYS = [
    (slice(None), 1),                       # x[:, 1]
    (Ellipsis, slice(None, 2)),             # x[..., :2]
    (slice(None), None, slice(1, 3)),       # x[:, None, 1:3]
    (Ellipsis, 1, slice(None, None, 2)),    # x[..., 1, ::2]
    (slice(None), -1, slice(-3, None)),     # negative indices
]


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("key", GET_ITEM_KEYS)
def test_get_item_gradients_and_shapes(key):
    layer, x = GetItemOp(key), rand(3, 4, 5, seed=8)
    assert check_gradients(layer, x)["input"] < TOL
    y, backward = layer.forward(x)
    xr = x.clone().requires_grad_(True)
    dy = rand(*y.shape, seed=9)
    xr[key].backward(dy)
    torch.testing.assert_close(y, x[key])
    torch.testing.assert_close(backward(dy), xr.grad)
    symbolic = ks.Input((4, 5))[key]
    assert symbolic.shape == (None, *y.shape[1:])
    spec = json.loads(json.dumps(ks.layers.serialize(layer)))
    torch.testing.assert_close(ks.layers.deserialize(spec).forward(x)[0], y)


def test_get_item_on_unknown_sizes():
    x = ks.Input((None, 3))
    assert x[:, :2].shape == (None, 2, 3)      # a fixed slice of an unknown length: 2 (if long enough)
    assert x[:, 1:].shape == (None, None, 3)   # the rest of an unknown length: unknown
    assert x[..., 0].shape == (None, None)


@pytest.mark.parametrize("index, error, match", [
    (lambda x: x[0], ValueError, r"would index the batch axis; start the key with ':'"),
    (lambda x: x[None], ValueError, "would index the batch axis"),
    (lambda x: x[..., 0, 0, 0], ValueError, "would index the batch axis"),
    (lambda x: x[:, [0, 1]], TypeError, "basic indexing"),
    (lambda x: x[:, torch.tensor([0])], TypeError, "basic indexing"),
    (lambda x: x[:, True], TypeError, "basic indexing"),
    (lambda x: x[:, ::-1], ValueError, "step must be positive"),
    (lambda x: x[:, 0.5], TypeError, "basic indexing"),
    (lambda x: x[:, 9], ValueError, "out of bounds"),
])
def test_get_item_refuses_what_it_cannot_differentiate(index, error, match):
    with pytest.raises(error, match=match):
        index(ks.Input((4, 5)))


@pytest.mark.usefixtures("float64")
def test_slices_in_a_model_train_and_save(tmp_path):
    inputs = ks.Input((3,))
    h = ks.layers.Dense(6, activation="tanh")(inputs)
    model = ks.Model(inputs, ks.layers.Dense(1)(h[:, 1:4] * h[:, :3] + h[:, 5:]))
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    x, y = rand(16, 3, seed=1), rand(16, 1, seed=2)
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "m.keras")
    again = ks.models.load_model(tmp_path / "m.keras")
    torch.testing.assert_close(again.predict(x, verbose=0), model.predict(x, verbose=0))


# ----- comparisons and where on symbolic tensors (kerasette/ops/select_layers.py) ------------------
@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (3, 4))])
def test_where_sends_dy_to_the_branch_each_entry_came_from(shapes):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    cond = rand(3, 4, seed=3) > 0
    layer = WhereOp([cond, None, None])
    errors = check_gradients(layer, [a, b])
    assert errors["input_0"] < TOL and errors["input_1"] < TOL
    y, backward = layer.forward([a, b])
    ar, br = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    dy = rand(*y.shape, seed=4)
    torch.where(cond, ar, br).backward(dy)
    da, db = backward(dy)
    torch.testing.assert_close(y, torch.where(cond, a, b))
    torch.testing.assert_close(da, ar.grad)
    torch.testing.assert_close(db, br.grad)


@pytest.mark.usefixtures("float64")
def test_symbolic_comparisons_and_where_in_a_model():
    inputs = ks.Input((3,))
    h = ks.layers.Dense(3)(inputs)
    leaky = ops.where(h > 0, h, 0.1 * h)                      # a leaky ReLU from ops
    clipped = ops.where(ops.less_equal(h, -1.0), -1.0, leaky)  # a constant branch
    model = ks.Model(inputs, clipped)
    x = rand(5, 3, seed=5)
    z = x @ torch.as_tensor(model.get_weights()[0]) + torch.as_tensor(model.get_weights()[1])
    want = torch.where(z <= -1.0, torch.tensor(-1.0, dtype=z.dtype), torch.where(z > 0, z, 0.1 * z))
    torch.testing.assert_close(model.predict(x, verbose=0), want)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, rand(5, 3, seed=6), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for layer in model.layers:
        if isinstance(layer, (CompareOp, WhereOp)):
            spec = json.loads(json.dumps(ks.layers.serialize(layer)))
            assert ks.layers.deserialize(spec).get_config() == layer.get_config()
    assert {type(layer).__name__ for layer in model._graph_layers()} >= {"CompareOp", "WhereOp"}


@pytest.mark.parametrize("op, torch_fn", [("greater", torch.gt), ("less_equal", torch.le),
                                          ("equal", torch.eq), ("not_equal", torch.ne)])
def test_comparison_nodes_compute_bools(op, torch_fn):
    a, b = rand(2, 3, seed=1), rand(2, 3, seed=2).round()
    y, backward = CompareOp(op).forward([a, b])
    assert torch.equal(y, torch_fn(a, b)) and backward(torch.ones(2, 3)) == (None, None)
    assert tuple(getattr(ops, op)(ks.Input((3,)), 0.5).shape) == (None, 3)


def test_where_with_only_a_condition_stays_data_only():
    with pytest.raises(TypeError, match="where has no gradient"):
        ops.where(ks.Input((3,)) > 0)


def test_conditions_combine_with_logical_ops_on_symbolic_tensors():
    inputs = ks.Input((4,))
    inside = ops.logical_and(inputs > -1.0, ops.logical_not(inputs > 1.0))
    either = ops.logical_or(inputs < -3.0, inside)
    model = ks.Model(inputs, ops.where(either, inputs, 0.0))
    x = torch.tensor([[-4.0, -2.0, 0.5, 2.0]])
    assert model.predict(x, verbose=0).tolist() == [[-4.0, 0.0, 0.5, 0.0]]

