"""Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D: finite differences, a torch
autograd oracle written with torch.nn.functional (its forward is the F op, so this also holds the
forward equal to F), Hypothesis over shapes / strides / paddings / dilations / groups (batch 1 and
kernels as large as the input included), Keras-layout weights, a 20-step SGD trajectory of a small
CNN against autograd, save / load, configs and argument errors."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette import initializers, layers
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)
pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def randn(g, *shape):
    return torch.randn(shape, generator=g, dtype=torch.float64)


# ----- the oracle: Keras's semantics written with F ops, differentiated by autograd -------------
def same_pads(n, k, s, d):
    """TensorFlow's "same": out = ceil(n / s), the odd padding pixel at the end."""
    k_eff = d * (k - 1) + 1
    total = max(0, (math.ceil(n / s) - 1) * s + k_eff - n)
    return total // 2, total - total // 2


def oracle_conv(x, kernel, bias, strides, padding, dilation, groups, data_format, act):
    """Conv1D / Conv2D from Keras's documented semantics, in torch.nn.functional."""
    rank = kernel.dim() - 2
    last = data_format == "channels_last"
    xt = x.movedim(-1, 1) if last else x                       # (N, C, *spatial)
    # (O, C/g, *k); contiguous: torch's float64 CPU kernel refuses some strided weights
    w = kernel.permute(*range(rank + 1, rank - 1, -1), *range(rank)).contiguous()
    pads = []
    for n, k, s, d in reversed(list(zip(xt.shape[2:], kernel.shape[:rank], strides, dilation))):
        if padding == "same":
            pads += same_pads(n, k, s, d)
        elif padding == "causal":
            pads += [d * (k - 1), 0]
        else:
            pads += [0, 0]
    conv = F.conv1d if rank == 1 else F.conv2d
    z = conv(F.pad(xt, pads), w, bias, strides, 0, dilation, groups)
    z = z.movedim(1, -1) if last else z
    return act(z)


def oracle_grads(fn, inputs, dy):
    leaves = [None if t is None else t.detach().clone().requires_grad_(True) for t in inputs]
    y = fn(*leaves)
    y.backward(dy)
    return y.detach(), [None if t is None else t.grad for t in leaves]


ACTS = {None: lambda z: z, "tanh": torch.tanh, "relu": torch.relu}


@st.composite
def conv_cases(draw, rank):
    groups = draw(st.sampled_from([1, 1, 2]))
    dilated = draw(st.booleans())
    k = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    strides = (1,) * rank if dilated else tuple(draw(st.integers(1, 3)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank)) if dilated else (1,) * rank
    paddings = ["valid", "same"] + (["causal"] if rank == 1 else [])
    padding = draw(st.sampled_from(paddings))
    # spatial sizes from "exactly the dilated kernel" (valid's smallest input) upwards
    sizes = tuple(d * (kk - 1) + 1 + draw(st.integers(0, 3)) for kk, d in zip(k, dilation))
    return dict(rank=rank, batch=draw(st.sampled_from([1, 2, 3])), sizes=sizes,
                channels=groups * draw(st.integers(1, 2)), filters=groups * draw(st.integers(1, 3)),
                k=k, strides=strides, dilation=dilation, padding=padding, groups=groups,
                data_format=draw(st.sampled_from(["channels_last", "channels_first"])),
                activation=draw(st.sampled_from([None, "tanh", "relu"])),
                use_bias=draw(st.booleans()),
                seed=draw(st.integers(0, 10**6)))


def build_conv(case):
    g = torch.Generator().manual_seed(case["seed"])
    cls = layers.Conv1D if case["rank"] == 1 else layers.Conv2D
    layer = cls(case["filters"], case["k"], strides=case["strides"], padding=case["padding"],
                data_format=case["data_format"], dilation_rate=case["dilation"],
                groups=case["groups"], activation=case["activation"], use_bias=case["use_bias"],
                bias_initializer=initializers.RandomNormal(seed=case["seed"]))
    c, sizes = case["channels"], case["sizes"]
    shape = (case["batch"], *sizes, c) if case["data_format"] == "channels_last" else (
        case["batch"], c, *sizes)
    x = randn(g, *shape)
    layer(x)
    return layer, x, g


@pytest.mark.parametrize("rank", [1, 2])
@SETTINGS
@given(data=st.data())
def test_conv_matches_the_functional_oracle_and_finite_differences(rank, data):
    case = data.draw(conv_cases(rank))
    layer, x, g = build_conv(case)
    kernel = layer.kernel.value.clone()
    bias = layer.bias.value.clone() if case["use_bias"] else None
    y, backward = layer.forward(x)
    dy = randn(g, *y.shape)
    dx = backward(dy)

    def fn(x, kernel, bias):
        return oracle_conv(x, kernel, bias, case["strides"], case["padding"], case["dilation"],
                           case["groups"], case["data_format"], ACTS[case["activation"]])
    y_ref, (dx_ref, dk_ref, db_ref) = oracle_grads(fn, [x, kernel, bias], dy)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(dx, dx_ref)
    torch.testing.assert_close(layer.kernel.grad, dk_ref)
    if bias is not None:
        torch.testing.assert_close(layer.bias.grad, db_ref)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    if case["activation"] != "relu":  # (relu is applied in place; no finite differences at its kink)
        errors = check_gradients(layer, x, seed=case["seed"])
        assert max(errors.values()) < 1e-6, errors


def test_conv2d_kernel_as_large_as_the_input_and_batch_one():
    layer = layers.Conv2D(3, (4, 5), bias_initializer="random_normal")
    x = randn(torch.Generator().manual_seed(0), 1, 4, 5, 2)
    assert layer(x).shape == (1, 1, 1, 3)
    assert max(check_gradients(layer, x).values()) < 1e-6


# ----- Conv2DTranspose: the adjoint of Keras's convolution ---------------------------------------
@st.composite
def transpose_cases(draw):
    dilated = draw(st.booleans())
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = (1, 1) if dilated else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    return dict(batch=draw(st.sampled_from([1, 2])), sizes=(draw(st.integers(1, 4)),
                                                           draw(st.integers(1, 4))),
                channels=draw(st.integers(1, 3)), filters=draw(st.integers(1, 3)), k=k,
                strides=strides, dilation=dilation, padding=draw(st.sampled_from(["valid", "same"])),
                data_format=draw(st.sampled_from(["channels_last", "channels_first"])),
                seed=draw(st.integers(0, 10**6)))


@SETTINGS
@given(case=transpose_cases())
def test_conv2d_transpose_is_the_gradient_of_keras_convolution(case):
    """TensorFlow defines conv2d_transpose as the input gradient of the convolution that maps the
    output's shape back to the input's; the oracle is exactly that, through autograd."""
    g = torch.Generator().manual_seed(case["seed"])
    layer = layers.Conv2DTranspose(case["filters"], case["k"], strides=case["strides"],
                                   padding=case["padding"], data_format=case["data_format"],
                                   dilation_rate=case["dilation"],
                                   bias_initializer=initializers.RandomNormal(seed=1))
    last = case["data_format"] == "channels_last"
    c = case["channels"]
    x = randn(g, case["batch"], *case["sizes"], c) if last else randn(g, case["batch"], c,
                                                                       *case["sizes"])
    layer(x)  # build
    y, backward = layer.forward(x)
    kernel, bias = layer.kernel.value.clone(), layer.bias.value.clone()
    dy = randn(g, *y.shape)
    dx = backward(dy)

    def fn(x, kernel, bias):
        # u has y's shape; conv(u) with the kernel read as (kh, kw, filters -> C) has x's shape
        u = torch.zeros(y.shape, dtype=torch.float64, requires_grad=True)
        z = oracle_conv(u, kernel, None, case["strides"], case["padding"], case["dilation"], 1,
                        case["data_format"], ACTS[None])
        assert z.shape == x.shape
        (du,) = torch.autograd.grad(z, u, grad_outputs=x, create_graph=True)
        return du + (bias if last else bias[:, None, None])
    y_ref, (dx_ref, dk_ref, db_ref) = oracle_grads(fn, [x, kernel, bias], dy)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(dx, dx_ref)
    torch.testing.assert_close(layer.kernel.grad, dk_ref)
    torch.testing.assert_close(layer.bias.grad, db_ref)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])


@pytest.mark.parametrize("padding, output_padding, size, expected", [
    ("valid", None, 5, 11),   # (n - 1) s + max(k, s) = 8 + 3
    ("valid", 1, 5, 12),      # (n - 1) s + k + op
    ("same", None, 5, 10),    # n s
    ("same", 1, 5, 10),       # (n - 1) s + k % 2 + op
    ("same", 0, 5, 9),
])
def test_conv2d_transpose_output_size_and_gradients(padding, output_padding, size, expected):
    layer = layers.Conv2DTranspose(2, 3, strides=2, padding=padding, output_padding=output_padding,
                                   bias_initializer="random_normal")
    x = randn(torch.Generator().manual_seed(3), 2, size, 3, 2)
    y = layer(x)
    assert y.shape[1] == expected
    assert layer.compute_output_shape((None, size, None, 2))[1:3] == (expected, None)
    assert max(check_gradients(layer, x).values()) < 1e-6
    # the forward against F.conv_transpose2d: the full output, cropped as TensorFlow pads
    k_eff, s = 3, 2
    if padding == "valid":
        before = k_eff - 1
    else:
        total = s + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
        before = min(total // 2 + total % 2, k_eff - 1)
    W = layer.kernel.value.permute(3, 2, 0, 1)
    full = F.conv_transpose2d(x.permute(0, 3, 1, 2), W, stride=2)
    crop = k_eff - 1 - before
    full = F.pad(full, (0, 0, 0, max(0, crop + expected - full.shape[2])))  # zeros, then the bias
    # y's column 1 is the full output's column 1 + crop (the width axis is cropped alike)
    expected_col = full[:, :, crop:crop + expected, 1 + crop].permute(0, 2, 1) + layer.bias.value
    torch.testing.assert_close(y[:, :, 1], expected_col)


# ----- depthwise and separable ----------------------------------------------------------------------
@st.composite
def depthwise_cases(draw):
    case = draw(conv_cases(2))
    case["depth_multiplier"] = draw(st.integers(1, 2))
    return case


def oracle_depthwise(x, K, bias, case):
    kh, kw, c, m = K.shape
    kernel = K.reshape(kh, kw, 1, c * m)  # grouped conv: output channel c m + j
    return oracle_conv(x, kernel, bias, case["strides"], case["padding"], case["dilation"], c,
                       case["data_format"], ACTS[case["activation"]])


@SETTINGS
@given(case=depthwise_cases(), separable=st.booleans())
def test_depthwise_and_separable_match_the_oracle(case, separable):
    g = torch.Generator().manual_seed(case["seed"])
    common = dict(strides=case["strides"], padding=case["padding"] if case["padding"] != "causal"
                  else "valid", depth_multiplier=case["depth_multiplier"],
                  data_format=case["data_format"], dilation_rate=case["dilation"],
                  activation=case["activation"], use_bias=case["use_bias"],
                  bias_initializer=initializers.RandomNormal(seed=case["seed"]))
    layer = (layers.SeparableConv2D(case["filters"], case["k"], **common) if separable
             else layers.DepthwiseConv2D(case["k"], **common))
    c, sizes = case["channels"], case["sizes"]
    last = case["data_format"] == "channels_last"
    x = randn(g, case["batch"], *sizes, c) if last else randn(g, case["batch"], c, *sizes)
    layer(x)
    weights = [w.value.clone() for w in layer.weights]
    y, backward = layer.forward(x)
    dy = randn(g, *y.shape)
    dx = backward(dy)

    def fn(x, *ws):
        K, rest = ws[0], list(ws[1:])
        if not separable:
            return oracle_depthwise(x, K, rest[0] if rest else None, case)
        P = rest[0]
        h = oracle_depthwise(x, K, None, dict(case, activation=None))
        z = oracle_conv(h, P, rest[1] if len(rest) > 1 else None, (1, 1), "valid", (1, 1), 1,
                        case["data_format"], ACTS[None])
        return ACTS[case["activation"]](z)
    y_ref, grads = oracle_grads(fn, [x, *weights], dy)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(dx, grads[0])
    for w, ref in zip(layer.weights, grads[1:]):
        torch.testing.assert_close(w.grad, ref)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])


def test_depthwise_and_separable_finite_differences():
    x = randn(torch.Generator().manual_seed(0), 2, 5, 4, 3)
    for layer in (layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                                         bias_initializer="random_normal"),
                  layers.SeparableConv2D(4, 2, strides=2, depth_multiplier=2, activation="tanh",
                                         bias_initializer="random_normal")):
        errors = check_gradients(layer, x)
        assert len(errors) == 1 + len(layer.weights) and max(errors.values()) < 1e-6, errors


# ----- weights in Keras's layout -------------------------------------------------------------------
def test_weights_in_keras_layout_give_keras_outputs():
    """Shapes from Keras 3's docs: Conv2D kernel (kh, kw, in, filters), Conv1D (k, in, filters),
    Conv2DTranspose (kh, kw, filters, in), DepthwiseConv2D (kh, kw, in, depth_multiplier),
    SeparableConv2D depthwise (kh, kw, in, m) + pointwise (1, 1, in * m, filters)."""
    g = torch.Generator().manual_seed(0)
    x = randn(g, 2, 6, 5, 3)
    xt = x.permute(0, 3, 1, 2)
    K, b = randn(g, 3, 2, 3, 4), randn(g, 4)
    conv = layers.Conv2D(4, (3, 2))
    conv(x)
    assert [w.shape for w in conv.get_weights()] == [(3, 2, 3, 4), (4,)]
    conv.set_weights([K.numpy(), b.numpy()])
    torch.testing.assert_close(conv(x), F.conv2d(xt, K.permute(3, 2, 0, 1), b).permute(0, 2, 3, 1))

    K1 = randn(g, 3, 3, 4)
    conv1 = layers.Conv1D(4, 3, use_bias=False)
    conv1(x[:, 0])
    conv1.set_weights([K1])
    torch.testing.assert_close(conv1(x[:, 0]),
                               F.conv1d(x[:, 0].permute(0, 2, 1), K1.permute(2, 1, 0)).permute(0, 2, 1))

    KT = randn(g, 2, 2, 4, 3)
    tconv = layers.Conv2DTranspose(4, 2, strides=2, use_bias=False)
    tconv(x)
    tconv.set_weights([KT])
    torch.testing.assert_close(tconv(x), F.conv_transpose2d(xt, KT.permute(3, 2, 0, 1), stride=2)
                               .permute(0, 2, 3, 1))

    KD, bd = randn(g, 2, 2, 3, 2), randn(g, 6)
    dw = layers.DepthwiseConv2D(2, depth_multiplier=2)
    dw(x)
    dw.set_weights([KD, bd])
    torch.testing.assert_close(dw(x), F.conv2d(xt, KD.reshape(2, 2, 6).permute(2, 0, 1)[:, None],
                                               bd, groups=3).permute(0, 2, 3, 1))

    KP, bs = randn(g, 1, 1, 6, 5), randn(g, 5)
    sep = layers.SeparableConv2D(5, 2, depth_multiplier=2)
    sep(x)
    assert [w.shape for w in sep.get_weights()] == [(2, 2, 3, 2), (1, 1, 6, 5), (5,)]
    sep.set_weights([KD, KP, bs])
    h = F.conv2d(xt, KD.reshape(2, 2, 6).permute(2, 0, 1)[:, None], groups=3)
    torch.testing.assert_close(sep(x), F.conv2d(h, KP.permute(3, 2, 0, 1), bs).permute(0, 2, 3, 1))


# ----- a small CNN trained 20 steps equals torch autograd ----------------------------------------
def test_cnn_sgd_trajectory_equals_autograd():
    g = torch.Generator().manual_seed(0)
    x = randn(g, 8, 9, 9, 2)
    y = torch.randint(0, 3, (8,), generator=g)
    ks.utils.set_random_seed(0)
    model = ks.Sequential([
        ks.Input((9, 9, 2)),
        layers.Conv2D(4, 3, padding="same", activation="tanh", bias_initializer="random_normal"),
        layers.MaxPooling2D(),
        layers.DepthwiseConv2D(2, depth_multiplier=2, activation="tanh"),
        layers.Conv2D(5, 2, strides=2, padding="same", activation="tanh"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3),
    ])
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=0.1),
                  loss=ks.losses.SparseCategoricalCrossentropy(from_logits=True))
    params = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    opt = torch.optim.SGD(params, lr=0.1)

    def net(x):
        K1, b1, K2, b2, K3, b3, W, b = params
        h = torch.tanh(F.conv2d(x.permute(0, 3, 1, 2), K1.permute(3, 2, 0, 1), b1, padding=1))
        h = F.max_pool2d(h, 2)                                               # 9 -> 4
        h = torch.tanh(F.conv2d(h, K2.reshape(2, 2, 8).permute(2, 0, 1)[:, None], b2, groups=4))
        h = torch.tanh(F.conv2d(F.pad(h, (0, 1, 0, 1)), K3.permute(3, 2, 0, 1), b3, stride=2))
        return h.mean((2, 3)) @ W + b

    for step in range(20):
        batch = slice(4 * (step % 2), 4 * (step % 2) + 4)
        model.train_on_batch(x[batch], y[batch])
        opt.zero_grad()
        F.cross_entropy(net(x[batch]), y[batch]).backward()
        opt.step()
    for mine, ref in zip(model.get_weights(), params):
        np.testing.assert_allclose(mine, ref.detach().numpy(), rtol=0, atol=1e-10)


# ----- frozen weights, configs, save / load, errors ---------------------------------------------
def test_frozen_layer_adds_no_gradient_but_passes_dx():
    layer = layers.Conv2D(2, 2, trainable=False)
    x = randn(torch.Generator().manual_seed(0), 2, 4, 4, 3)
    layer(x)  # build
    y, backward = layer.forward(x)
    dx = backward(torch.ones_like(y))
    assert dx.shape == x.shape and layer.kernel.grad.abs().sum() == 0
    assert backward(torch.ones_like(y), need_dx=False) is None


ALL = [
    lambda: layers.Conv1D(3, 2, strides=2, padding="causal", dilation_rate=1, groups=1,
                          activation="relu", use_bias=False, name="c1"),
    lambda: layers.Conv2D(4, (2, 3), padding="same", data_format="channels_first", groups=2,
                          dilation_rate=(2, 1), kernel_initializer="he_normal"),
    lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1),
    lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, activation="tanh"),
    lambda: layers.SeparableConv2D(5, 2, depth_multiplier=2, pointwise_initializer="zeros"),
]
INPUTS = [(2, 8, 4), (2, 4, 6, 6), (2, 5, 5, 2), (2, 6, 6, 2), (2, 6, 6, 2)]


@pytest.mark.parametrize("make, shape", list(zip(ALL, INPUTS)))
def test_config_round_trip_and_weights(make, shape):
    layer = make()
    x = randn(torch.Generator().manual_seed(0), *shape)
    y = layer(x)
    clone = layers.deserialize(layers.serialize(layer))
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(x), y)
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *y.shape[1:])
    none_shape = (None, *[None if i in (1,) else d for i, d in enumerate(shape)][1:])
    out = layer.compute_output_shape(none_shape)
    assert len(out) == len(shape) and out[0] is None


def test_cnn_save_load_and_summary(tmp_path, capsys):
    model = ks.Sequential([ks.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                           layers.SeparableConv2D(4, 2), layers.Conv2DTranspose(2, 2, strides=2),
                           layers.Conv2D(1, 1)])
    x = randn(torch.Generator().manual_seed(0), 3, 8, 8, 1)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, torch.zeros(3, 10, 10, 1, dtype=torch.float64), epochs=1, verbose=0)
    path = tmp_path / "cnn.keras"
    model.save(path)
    loaded = ks.models.load_model(path)
    torch.testing.assert_close(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.summary()
    out = capsys.readouterr().out
    assert "Conv2DTranspose" in out and "(None, 10, 10, 2)" in out


@pytest.mark.parametrize("make, arg", [
    (lambda: layers.Conv2D(0, 3), "filters"),
    (lambda: layers.Conv2D(2.5, 3), "filters"),
    (lambda: layers.Conv2D(4, (3, 0)), "kernel_size"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), "kernel_size"),
    (lambda: layers.Conv2D(4, 3, strides=0), "strides"),
    (lambda: layers.Conv2D(4, 3, padding="causal"), "padding"),
    (lambda: layers.Conv1D(4, 3, padding="full"), "padding"),
    (lambda: layers.Conv2D(4, 3, data_format="NHWC"), "data_format"),
    (lambda: layers.Conv2D(4, 3, dilation_rate=-1), "dilation_rate"),
    (lambda: layers.Conv2D(4, 3, groups=3), "groups"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: layers.Conv2D(4, 3, use_bias="yes"), "use_bias"),
    (lambda: layers.Conv2D(4, 3, activation="nope"), "activation"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
    (lambda: layers.SeparableConv2D(0, 3), "filters"),
])
def test_bad_arguments_name_the_argument(make, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        make()


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="rank 4"):
        layers.Conv2D(2, 3)(torch.zeros(2, 5, 5))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        layers.Conv2D(2, 3)(torch.zeros(2, 2, 5, 1))
    with pytest.raises(ValueError, match="groups"):
        layers.Conv2D(4, 1, groups=2)(torch.zeros(1, 3, 3, 3))
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Conv2D(4, 1, kernel_size_typo=2)


def test_kwargs_reach_the_base_layer():
    layer = layers.Conv1D(2, 3, name="first", trainable=False, input_shape=(10, 4))
    assert layer.name == "first" and not layer.trainable and layer.input_shape_arg == (10, 4)
    model = ks.Sequential([layer, layers.GlobalMaxPooling1D()])
    assert model.output_shape == (None, 2)


def test_regularizers_and_constraints_reach_the_weights():
    conv = layers.Conv2D(3, 2, kernel_regularizer="l2", bias_regularizer=ks.regularizers.L1(0.1),
                         kernel_constraint="non_neg", bias_constraint="max_norm")
    sep = layers.SeparableConv2D(3, 2, depthwise_regularizer="l1", pointwise_regularizer="l2",
                                 depthwise_constraint="non_neg", pointwise_constraint="unit_norm")
    model = ks.Sequential([ks.Input((5, 5, 2)), conv, sep, layers.Flatten()])
    for layer in (conv, sep):
        assert layers.deserialize(layers.serialize(layer)).get_config() == layer.get_config()
    assert conv.kernel.regularizer is conv.kernel_regularizer and conv.bias.constraint is not None
    assert sep.depthwise_kernel.constraint is not None and sep.pointwise_kernel.regularizer
    # (adding the penalties to the loss and applying the constraints is the trainer's business)
    assert model.output_shape == (None, 27)
