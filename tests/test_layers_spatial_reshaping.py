"""UpSampling2D, ZeroPadding2D, Cropping2D: forward equal to torch.nn.functional (interpolate, pad),
backward equal to autograd and to finite differences, over Hypothesis shapes, both data formats;
configs, shapes with None and argument errors."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette import layers
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)
pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def to_t(x, last):
    return x.permute(0, 3, 1, 2) if last else x


def from_t(y, last):
    return y.permute(0, 2, 3, 1) if last else y


def oracle_up(x, size, interpolation, last):
    mode = "nearest" if interpolation == "nearest" else "bilinear"
    extra = {} if mode == "nearest" else {"align_corners": False}
    return from_t(F.interpolate(to_t(x, last), scale_factor=size, mode=mode, **extra), last)


def oracle_pad(x, pads, last):
    (t, b), (l, r) = pads
    return from_t(F.pad(to_t(x, last), (l, r, t, b)), last)


def oracle_crop(x, crops, last):
    (t, b), (l, r) = crops
    xt = to_t(x, last)
    return from_t(xt[:, :, t:xt.shape[2] - b, l:xt.shape[3] - r], last)


cases = st.fixed_dictionaries({
    "batch": st.sampled_from([1, 2]), "h": st.integers(1, 5), "w": st.integers(1, 5),
    "c": st.integers(1, 3), "last": st.booleans(), "seed": st.integers(0, 10**6),
    "a": st.tuples(*[st.integers(0, 2)] * 4), "size": st.tuples(st.integers(1, 3),
                                                                  st.integers(1, 3)),
    "interpolation": st.sampled_from(["nearest", "bilinear"]),
})


def check(layer, oracle, case):
    g = torch.Generator().manual_seed(case["seed"])
    shape = ((case["batch"], case["h"], case["w"], case["c"]) if case["last"]
             else (case["batch"], case["c"], case["h"], case["w"]))
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    layer(x)
    y, backward = layer.forward(x)
    xa = x.clone().requires_grad_(True)
    ya = oracle(xa)
    dy = torch.randn(ya.shape, generator=g, dtype=torch.float64)
    ya.backward(dy)
    torch.testing.assert_close(y, ya.detach())
    torch.testing.assert_close(backward(dy), xa.grad)
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *y.shape[1:])
    assert check_gradients(layer, x, seed=case["seed"])["input"] < 1e-6


def fmt(case):
    return "channels_last" if case["last"] else "channels_first"


@SETTINGS
@given(case=cases)
def test_upsampling2d(case):
    layer = layers.UpSampling2D(case["size"], fmt(case), case["interpolation"])
    check(layer, lambda x: oracle_up(x, case["size"], case["interpolation"], case["last"]), case)


@SETTINGS
@given(case=cases)
def test_zero_padding2d(case):
    a = case["a"]
    pads = ((a[0], a[1]), (a[2], a[3]))
    check(layers.ZeroPadding2D(pads, fmt(case)), lambda x: oracle_pad(x, pads, case["last"]), case)


@SETTINGS
@given(case=cases)
def test_cropping2d(case):
    a = case["a"]
    crops = ((min(a[0], case["h"] - 1), 0), (a[2] % case["w"], 0))
    check(layers.Cropping2D(crops, fmt(case)), lambda x: oracle_crop(x, crops, case["last"]), case)


def test_keras_argument_forms_and_shapes():
    assert layers.ZeroPadding2D(2).padding == ((2, 2), (2, 2))
    assert layers.ZeroPadding2D((1, 3)).padding == ((1, 1), (3, 3))
    assert layers.Cropping2D(((1, 0), (2, 3))).cropping == ((1, 0), (2, 3))
    assert layers.ZeroPadding2D().compute_output_shape((None, None, 4, 3)) == (None, None, 6, 3)
    assert layers.UpSampling2D((2, 3)).compute_output_shape((None, 2, None, 3)) == \
        (None, 4, None, 3)
    assert layers.Cropping2D(1).compute_output_shape((None, 5, 4, 3)) == (None, 3, 2, 3)


def test_in_a_model_round_trip(tmp_path):
    model = ks.Sequential([ks.Input((4, 4, 1)), layers.ZeroPadding2D(1),
                           layers.Conv2D(2, 3), layers.UpSampling2D(interpolation="bilinear"),
                           layers.Cropping2D(((1, 1), (0, 2)))])
    assert model.output_shape == (None, 6, 6, 2)
    x = torch.randn(2, 4, 4, 1, dtype=torch.float64)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, torch.zeros(2, 6, 6, 2, dtype=torch.float64), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = ks.models.load_model(tmp_path / "m.keras")
    torch.testing.assert_close(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for layer in model.layers:
        assert layers.deserialize(layers.serialize(layer)).get_config() == layer.get_config()


@pytest.mark.parametrize("make, arg", [
    (lambda: layers.UpSampling2D(0), "size"),
    (lambda: layers.UpSampling2D(interpolation="bicubic"), "interpolation"),
    (lambda: layers.UpSampling2D(data_format="NHWC"), "data_format"),
    (lambda: layers.ZeroPadding2D(-1), "padding"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), "padding"),
    (lambda: layers.Cropping2D(((1,), (2, 3))), "cropping"),
    (lambda: layers.Cropping2D(1.5), "cropping"),
])
def test_bad_arguments_name_the_argument(make, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        make()


def test_cropping_everything_is_a_clear_error():
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D(((2, 2), (0, 0)))(torch.zeros(1, 4, 4, 1))
