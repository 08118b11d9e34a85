"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot): finite
differences, a torch autograd oracle of the same math, forward equal to the torch op, Keras's
broadcasting (size-1 axes inserted after the batch axis), the tie rule of Maximum / Minimum, shape
and argument errors, and config round trips."""

import json
import string

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasette import layers
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=20, deadline=None)

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def randn(g, *shape):
    return torch.randn(shape, generator=g, dtype=torch.float64)


def distinct(g, shapes):
    """Tensors of `shapes` whose entries are all different, at least 0.1 apart (no ties for
    Maximum / Minimum, and no tie a finite-difference step of 1e-6 could cross)."""
    sizes = [torch.Size(s).numel() for s in shapes]
    values = (torch.randperm(sum(sizes), generator=g).double() - sum(sizes) / 2) * 0.1
    return [v.reshape(s) for v, s in zip(values.split(sizes), shapes)]


# ---- the oracle: the same math in torch ops, differentiated by autograd ---------------------
def keras_align(xs):
    """Keras's rule for inputs of different ranks: size-1 axes inserted after the batch axis."""
    rank = max(x.dim() for x in xs)
    out = []
    for x in xs:
        while x.dim() < rank:
            x = x.unsqueeze(1)
        out.append(x)
    return out


def torch_merge(kind, xs, **kwargs):
    if kind == "Add":
        return torch.stack(torch.broadcast_tensors(*keras_align(xs))).sum(0)
    if kind == "Subtract":
        a, b = keras_align(xs)
        return torch.sub(a, b)
    if kind == "Multiply":
        return torch.stack(torch.broadcast_tensors(*keras_align(xs))).prod(0)
    if kind == "Average":
        return torch.stack(torch.broadcast_tensors(*keras_align(xs))).mean(0)
    if kind == "Maximum":
        return torch.stack(torch.broadcast_tensors(*keras_align(xs))).amax(0)
    if kind == "Minimum":
        return torch.stack(torch.broadcast_tensors(*keras_align(xs))).amin(0)
    if kind == "Concatenate":
        return torch.cat(xs, dim=kwargs.get("axis", -1))
    if kind == "Dot":
        return torch_dot(*xs, **kwargs)
    raise AssertionError(kind)


def torch_dot(x, y, axes, normalize=False):
    """Keras's batch_dot written as an einsum: sum over x's axis a and y's axis b per sample."""
    ax, ay = (axes, axes) if isinstance(axes, int) else axes
    ax, ay = ax % x.dim(), ay % y.dim()
    if normalize:
        x, y = F.normalize(x, dim=ax, eps=1e-7), F.normalize(y, dim=ay, eps=1e-7)
    letters = iter(string.ascii_letters)
    n, k = next(letters), next(letters)
    sx = [n] + [k if i == ax else next(letters) for i in range(1, x.dim())]
    sy = [n] + [k if i == ay else next(letters) for i in range(1, y.dim())]
    out = [n] + [c for c in sx[1:] if c != k] + [c for c in sy[1:] if c != k]
    z = torch.einsum(f"{''.join(sx)},{''.join(sy)}->{''.join(out)}", x, y)
    return z.reshape(-1, 1) if z.dim() == 1 else z


def oracle(kind, xs, dy, **kwargs):
    leaves = [x.clone().requires_grad_(True) for x in xs]
    y = torch_merge(kind, leaves, **kwargs)
    y.backward(dy)
    return y.detach(), tuple(leaf.grad for leaf in leaves)


def check_against_oracle(layer, kind, xs, g, **kwargs):
    y, backward = layer.forward(xs)
    dy = randn(g, *y.shape)
    dxs = backward(dy)
    y_ref, dxs_ref = oracle(kind, xs, dy, **kwargs)
    torch.testing.assert_close(y, y_ref)
    assert isinstance(dxs, tuple) and len(dxs) == len(xs)
    assert [d.shape for d in dxs] == [x.shape for x in xs]
    for d, d_ref in zip(dxs, dxs_ref):
        torch.testing.assert_close(d, d_ref)
    shapes = [(None, *x.shape[1:]) for x in xs]
    assert layer.compute_output_shape(shapes) == (None, *y.shape[1:])
    assert layer.compute_output_shape([tuple(x.shape) for x in xs]) == tuple(y.shape)
    return y, dxs


# ---- elementwise layers over shapes, with Keras's broadcasting ------------------------------
@st.composite
def elementwise_cases(draw, kinds=ELEMENTWISE):
    kind = draw(st.sampled_from(kinds))
    n_inputs = 2 if kind == "Subtract" else draw(st.integers(1, 4))
    batch = draw(st.sampled_from([1, 2, 3]))
    base = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    shapes = []
    for _ in range(n_inputs):
        drop = draw(st.integers(0, len(base) - 1))              # a lower rank: leading axes gone
        ones = draw(st.lists(st.booleans(), min_size=len(base), max_size=len(base)))
        per_sample = [1 if one else d for d, one in zip(base, ones)][drop:]
        shapes.append((batch, *per_sample))
    return kind, shapes, draw(st.integers(0, 2**31 - 1))


def make_inputs(kind, shapes, seed):
    g = torch.Generator().manual_seed(seed)
    if kind in ("Maximum", "Minimum"):
        return distinct(g, shapes), g
    return [randn(g, *s) for s in shapes], g


@SETTINGS
@given(case=elementwise_cases())
def test_elementwise_match_torch_autograd(case):
    kind, shapes, seed = case
    xs, g = make_inputs(kind, shapes, seed)
    check_against_oracle(getattr(layers, kind)(), kind, xs, g)


@SETTINGS
@given(case=elementwise_cases())
def test_elementwise_pass_central_differences(case):
    kind, shapes, seed = case
    xs, _ = make_inputs(kind, shapes, seed)
    errors = check_gradients(getattr(layers, kind)(), xs, seed=seed)
    assert set(errors) == {f"input_{i}" for i in range(len(xs))}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("kind", ELEMENTWISE)
def test_elementwise_forward_is_the_torch_op(kind):
    g = torch.Generator().manual_seed(0)
    a, b = distinct(g, [(3, 4), (3, 4)])
    expected = {"Add": torch.add, "Subtract": torch.sub, "Multiply": torch.mul,
                "Average": lambda p, q: (p + q) / 2, "Maximum": torch.maximum,
                "Minimum": torch.minimum}[kind](a, b)
    torch.testing.assert_close(getattr(layers, kind)().forward([a, b])[0], expected)


def test_broadcasting_follows_keras_and_sums_gradients_back():
    g = torch.Generator().manual_seed(1)
    col, full, low = randn(g, 2, 1), randn(g, 2, 4), randn(g, 2, 3, 4)
    y, backward = layers.Add().forward([col, full])
    assert y.shape == (2, 4)
    dy = randn(g, 2, 4)
    d_col, d_full = backward(dy)
    torch.testing.assert_close(d_col, dy.sum(1, keepdim=True))
    torch.testing.assert_close(d_full, dy)
    # (N, 4) with (N, 3, 4): Keras inserts the axis after the batch axis, (N, 1, 4)
    y, backward = layers.Multiply().forward([full, low])
    torch.testing.assert_close(y, full[:, None, :] * low)
    d_full, d_low = backward(torch.ones(2, 3, 4, dtype=torch.float64))
    torch.testing.assert_close(d_full, low.sum(1))
    assert layers.Add().compute_output_shape([(None, 1), (None, 4)]) == (None, 4)
    assert layers.Add().compute_output_shape([(None, 4), (None, 3, 4)]) == (None, 3, 4)
    assert layers.Add().compute_output_shape([(None, None), (None, 4)]) == (None, None)


def test_multiply_gradient_is_right_where_an_input_is_zero():
    a = torch.tensor([[0.0, 2.0, 0.0]], dtype=torch.float64)
    b = torch.tensor([[3.0, 0.0, 0.0]], dtype=torch.float64)
    c = torch.tensor([[5.0, 7.0, 11.0]], dtype=torch.float64)
    _, backward = layers.Multiply().forward([a, b, c])
    da, db, dc = backward(torch.ones(1, 3, dtype=torch.float64))
    torch.testing.assert_close(da, b * c)
    torch.testing.assert_close(db, a * c)
    torch.testing.assert_close(dc, a * b)


# ---- Maximum / Minimum ties --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["Maximum", "Minimum"])
def test_ties_send_the_whole_gradient_to_the_first_input(kind):
    # entry 0: a and b tie for the win; entry 1: all three tie; entry 2: c wins alone
    a = torch.tensor([[1.0, 5.0, -2.0]], dtype=torch.float64)
    b = a.clone()
    c = torch.tensor([[0.0, 5.0, 9.0]] if kind == "Maximum" else [[2.0, 5.0, -9.0]],
                     dtype=torch.float64)
    y, backward = getattr(layers, kind)().forward([a, b, c])
    torch.testing.assert_close(y, torch.tensor([[1.0, 5.0, c[0, 2]]], dtype=torch.float64))
    dy = torch.tensor([[10.0, 20.0, 30.0]], dtype=torch.float64)
    da, db, dc = backward(dy)
    torch.testing.assert_close(da, torch.tensor([[10.0, 20.0, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(db, torch.zeros_like(dy))
    torch.testing.assert_close(dc, torch.tensor([[0.0, 0.0, 30.0]], dtype=torch.float64))


@pytest.mark.parametrize("kind", ["Maximum", "Minimum"])
def test_identical_inputs_give_everything_to_the_first(kind):
    x = torch.randn(3, 4, dtype=torch.float64)
    dy = torch.randn(3, 4, dtype=torch.float64)
    _, backward = getattr(layers, kind)().forward([x, x.clone()])
    d0, d1 = backward(dy)
    torch.testing.assert_close(d0, dy)
    torch.testing.assert_close(d1, torch.zeros_like(dy))


# ---- Concatenate -------------------------------------------------------------------------------
@st.composite
def concat_cases(draw):
    batch = draw(st.sampled_from([1, 2, 3]))
    base = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    rank = len(base) + 1
    axis = draw(st.sampled_from([a for a in range(-rank, rank) if a % rank != 0]))
    n_inputs = draw(st.integers(1, 4))
    shapes = []
    for _ in range(n_inputs):
        s = [batch, *base]
        s[axis] = draw(st.integers(1, 4))
        shapes.append(tuple(s))
    return axis, shapes, draw(st.integers(0, 2**31 - 1))


@SETTINGS
@given(case=concat_cases())
def test_concatenate_matches_torch(case):
    axis, shapes, seed = case
    g = torch.Generator().manual_seed(seed)
    xs = [randn(g, *s) for s in shapes]
    layer = layers.Concatenate(axis=axis)
    y, _ = check_against_oracle(layer, "Concatenate", xs, g, axis=axis)
    torch.testing.assert_close(y, torch.cat(xs, dim=axis))
    errors = check_gradients(layer, xs, seed=seed)
    assert max(errors.values()) < 1e-6, errors


def test_concatenate_default_axis_and_unknown_sizes():
    assert layers.Concatenate().compute_output_shape([(None, 3), (None, 5)]) == (None, 8)
    assert layers.Concatenate(axis=1).compute_output_shape(
        [(None, 2, 3), (None, None, 3)]) == (None, None, 3)
    assert layers.Concatenate(axis=1).compute_output_shape(
        [(None, 2, None), (None, 1, 3)]) == (None, 3, 3)


# ---- Dot ---------------------------------------------------------------------------------------
@st.composite
def dot_cases(draw):
    batch = draw(st.sampled_from([1, 2, 3]))
    k = draw(st.integers(1, 4))
    rest_x = draw(st.lists(st.integers(1, 3), max_size=2))
    rest_y = draw(st.lists(st.integers(1, 3), max_size=2))
    ax = draw(st.integers(0, len(rest_x)))    # where K sits among the per-sample axes
    ay = draw(st.integers(0, len(rest_y)))
    shape_x = (batch, *rest_x[:ax], k, *rest_x[ax:])
    shape_y = (batch, *rest_y[:ay], k, *rest_y[ay:])
    ax, ay = ax + 1, ay + 1
    if draw(st.booleans()):                   # negative spellings
        ax, ay = ax - len(shape_x), ay - len(shape_y)
    axes = ax if ax == ay and draw(st.booleans()) else draw(st.sampled_from([(ax, ay), [ax, ay]]))
    return shape_x, shape_y, axes, draw(st.booleans()), draw(st.integers(0, 2**31 - 1))


@SETTINGS
@given(case=dot_cases())
def test_dot_matches_torch_autograd_and_central_differences(case):
    shape_x, shape_y, axes, normalize, seed = case
    g = torch.Generator().manual_seed(seed)
    xs = [randn(g, *shape_x), randn(g, *shape_y)]
    layer = layers.Dot(axes, normalize=normalize)
    check_against_oracle(layer, "Dot", xs, g, axes=axes, normalize=normalize)
    if normalize and xs[0].shape[layer._resolve_axes(len(shape_x), len(shape_y), None)[0]] == 1:
        return  # x / |x| with one entry is constant: the gradient is rounding noise around 0
    errors = check_gradients(layer, xs, seed=seed)
    assert set(errors) == {"input_0", "input_1"} and max(errors.values()) < 1e-6, errors


def test_dot_forward_is_the_torch_op():
    g = torch.Generator().manual_seed(2)
    a, b = randn(g, 5, 4), randn(g, 5, 4)
    torch.testing.assert_close(layers.Dot(1).forward([a, b])[0], (a * b).sum(1, keepdim=True))
    torch.testing.assert_close(layers.Dot(-1, normalize=True).forward([a, b])[0],
                               F.cosine_similarity(a, b, dim=1).unsqueeze(1))
    x, y = randn(g, 2, 3, 5), randn(g, 2, 4, 3)   # Keras's docstring example: (2, 5, 4)
    out = layers.Dot(axes=(1, 2)).forward([x, y])[0]
    torch.testing.assert_close(out, torch.bmm(x.transpose(1, 2), y.transpose(1, 2)))
    assert layers.Dot(axes=(1, 2)).compute_output_shape([(None, 3, 5), (None, 4, 3)]) == (
        None, 5, 4)


def test_dot_normalize_has_a_finite_gradient_for_a_zero_vector():
    a = torch.zeros(2, 3, dtype=torch.float64)
    b = torch.randn(2, 3, dtype=torch.float64)
    y, backward = layers.Dot(1, normalize=True).forward([a, b])
    torch.testing.assert_close(y, torch.zeros(2, 1, dtype=torch.float64))
    da, db = backward(torch.ones(2, 1, dtype=torch.float64))
    assert torch.isfinite(da).all() and torch.isfinite(db).all()
    _, (da_ref, db_ref) = oracle("Dot", [a, b], torch.ones(2, 1, dtype=torch.float64), axes=1,
                                 normalize=True)
    torch.testing.assert_close(da, da_ref)
    torch.testing.assert_close(db, db_ref)


# ---- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,error,match", [
    (lambda: layers.Concatenate(axis="1"), TypeError, "axis"),
    (lambda: layers.Concatenate(axis=1.0), TypeError, "axis"),
    (lambda: layers.Concatenate(axis=0), ValueError, "axis"),
    (lambda: layers.Dot(axes="1"), ValueError, "axes"),
    (lambda: layers.Dot(axes=(1, 2, 3)), ValueError, "axes"),
    (lambda: layers.Dot(axes=(1, 1.5)), ValueError, "axes"),
    (lambda: layers.Dot(axes=True), ValueError, "axes"),
    (lambda: layers.Dot(axes=0), ValueError, "axes"),
    (lambda: layers.Dot(axes=(1, 0)), ValueError, "axes"),
    (lambda: layers.Dot(axes=1, normalize="yes"), TypeError, "normalize"),
    (lambda: layers.Add(name=3), TypeError, "name"),
])
def test_bad_arguments_raise_naming_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("layer,shapes,match", [
    (layers.Subtract(name="sub"), [(2, 3)] * 3, r"'sub' \(Subtract\) expects exactly 2 inputs, "
                                                 r"received 3"),
    (layers.Subtract(name="sub"), [(2, 3)], r"exactly 2 inputs, received 1"),
    (layers.Dot(1, name="dot"), [(2, 3)] * 3, r"'dot' \(Dot\) expects exactly 2"),
    (layers.Add(name="add"), [], r"'add' \(Add\) expects at least 1 input"),
    (layers.Add(name="add"), [(2, 3), (2, 4)], r"'add' \(Add\).*broadcast.*\(2, 3\), \(2, 4\)"),
    (layers.Maximum(name="mx"), [(2, 3), (5, 3)], r"'mx'.*different batch sizes.*\(5, 3\)"),
    (layers.Concatenate(name="cat"), [(2, 3), (2, 3, 1)], r"'cat'.*same rank"),
    (layers.Concatenate(axis=1, name="cat"), [(2, 3, 4), (2, 3, 5)],
     r"'cat'.*matching shapes except along axis 1.*\(2, 3, 5\)"),
    (layers.Concatenate(axis=3, name="cat"), [(2, 3, 4), (2, 3, 4)], r"'cat'.*axis=3"),
    (layers.Concatenate(name="cat"), [(2,), (2,)], r"'cat'.*axis=-1"),
    (layers.Dot(1, name="dot"), [(2, 3), (2, 4)], r"'dot'.*size 3 at axis 1 and 4 at axis 1"),
    (layers.Dot((1, 3), name="dot"), [(2, 3), (2, 3)], r"'dot'.*axes=\[1, 3\]"),
    (layers.Dot(-1, name="dot"), [(2,), (2,)], r"'dot'.*axes=-1"),
])
def test_bad_input_shapes_raise_naming_the_layer_and_shapes(layer, shapes, match):
    with pytest.raises(ValueError, match=match):
        layer.compute_output_shape(shapes)
    with pytest.raises(ValueError, match=match):
        layer.forward([torch.zeros(s, dtype=torch.float64) for s in shapes])


def test_a_merge_layer_needs_a_list():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="'add' .*list of tensors, received Tensor"):
        layers.Add(name="add").forward(x)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add(name="add").build((None, 3))
    with pytest.raises(ValueError, match="list of tensors"):
        layers.Add().forward([x, "y"])


def test_build_through_the_base_checks_later_calls():
    layer = layers.Add(name="plus")
    layer._maybe_build([(4, 3), (4, 3)])
    assert layer.built and layer.input_spec == [(3,), (3,)]
    with pytest.raises(ValueError, match="plus"):
        layer._maybe_build([(4, 3), (4, 5)])
    with pytest.raises(ValueError, match="broadcast"):
        layers.Add()._maybe_build([(4, 3), (4, 5)])


# ---- config ------------------------------------------------------------------------------------
ALL = [lambda: layers.Add(name="a"), lambda: layers.Subtract(), lambda: layers.Multiply(),
       lambda: layers.Average(trainable=False), lambda: layers.Maximum(), lambda: layers.Minimum(),
       lambda: layers.Concatenate(axis=1), lambda: layers.Dot(axes=(1, 2), normalize=True),
       lambda: layers.Dot(axes=-1)]


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
    assert layers.Concatenate().get_config()["axis"] == -1
    config = layers.Dot(axes=(1, 2)).get_config()
    assert config["axes"] == [1, 2] and config["normalize"] is False
    assert layers.Dot(axes=2).get_config()["axes"] == 2


def test_check_gradients_catches_a_wrong_merge_backward():
    class BadAdd(layers.Add):
        def _merge(self, xs):
            y, backward = super()._merge(xs)
            return y, lambda dy: (dy, 2 * dy)

    x = [torch.randn(2, 3, dtype=torch.float64) for _ in range(2)]
    errors = check_gradients(BadAdd(), x)
    assert errors["input_0"] < 1e-8 and errors["input_1"] > 1e-2

    class OneGradient(layers.Add):
        def _merge(self, xs):
            y, backward = super()._merge(xs)
            return y, lambda dy: dy

    with pytest.raises(ValueError, match="tuple of 2 input gradients"):
        check_gradients(OneGradient(), x)


def test_check_gradients_with_a_list_needs_a_layer():
    from kerasette import activations, losses

    x = [torch.randn(2, 3, dtype=torch.float64)]
    with pytest.raises(TypeError, match="Invalid x"):
        check_gradients(activations.get("tanh"), x)
    with pytest.raises(TypeError, match="Invalid x"):
        check_gradients(losses.MeanSquaredError(), x, y_true=x[0])
    with pytest.raises(ValueError, match="Invalid x"):
        check_gradients(layers.Add(), [])
