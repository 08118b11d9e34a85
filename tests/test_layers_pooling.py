"""Pooling layers: forward equal to torch.nn.functional (with TensorFlow's "same" padding: -inf for
max, the mean over the window's real entries for the average), autograd oracle and finite
differences over Hypothesis shapes / pools / strides / paddings (data without ties), global
pooling with keepdims, configs, save / load and argument errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette import layers
from kerasette.testing import check_gradients

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py

WINDOW = {(1, "max"): layers.MaxPooling1D, (2, "max"): layers.MaxPooling2D,
          (1, "average"): layers.AveragePooling1D, (2, "average"): layers.AveragePooling2D}


def distinct(g, *shape):
    """Values without ties, spaced well apart (finite differences never cross a tie)."""
    n = math.prod(shape)
    return torch.randperm(n, generator=g).to(torch.float64).view(shape) / n * 10


def same_pads(n, k, s):
    total = max(0, (math.ceil(n / s) - 1) * s + k - n)
    return total // 2, total - total // 2


def oracle_pool(x, rank, mode, pool, strides, padding, last):
    """Keras's pooling in F ops: pad (-inf for max), pool, and for an average divide by the
    number of real entries (pooling a mask of ones counts them)."""
    xt = x.movedim(-1, 1) if last else x
    pads = []
    for n, k, s in reversed(list(zip(xt.shape[2:], pool, strides))):
        pads += same_pads(n, k, s) if padding == "same" else (0, 0)
    if mode == "max":
        fn = F.max_pool1d if rank == 1 else F.max_pool2d
        y = fn(F.pad(xt, pads, value=-math.inf), pool, strides)
    else:
        fn = F.avg_pool1d if rank == 1 else F.avg_pool2d
        ones = torch.ones_like(xt[:1, :1])
        y = fn(F.pad(xt, pads), pool, strides) / fn(F.pad(ones, pads), pool, strides)
    return y.movedim(1, -1) if last else y


@st.composite
def pool_cases(draw):
    rank = draw(st.sampled_from([1, 2]))
    pool = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    strides = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * rank)))
    sizes = tuple(k + draw(st.integers(0, 4)) for k in pool)   # down to the pool's own size
    return dict(rank=rank, mode=draw(st.sampled_from(["max", "average"])), pool=pool,
                strides=strides, sizes=sizes, padding=draw(st.sampled_from(["valid", "same"])),
                last=draw(st.booleans()), batch=draw(st.sampled_from([1, 2])),
                channels=draw(st.integers(1, 3)), seed=draw(st.integers(0, 10**6)))


@SETTINGS
@given(case=pool_cases())
def test_window_pooling_matches_the_oracle_and_finite_differences(case):
    g = torch.Generator().manual_seed(case["seed"])
    layer = WINDOW[case["rank"], case["mode"]](
        case["pool"], case["strides"], case["padding"],
        "channels_last" if case["last"] else "channels_first")
    shape = ((case["batch"], *case["sizes"], case["channels"]) if case["last"]
             else (case["batch"], case["channels"], *case["sizes"]))
    x = distinct(g, *shape)
    layer(x)  # build
    y, backward = layer.forward(x)
    dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    dx = backward(dy)
    xa = x.clone().requires_grad_(True)
    strides = case["strides"] or case["pool"]
    ya = oracle_pool(xa, case["rank"], case["mode"], case["pool"], strides, case["padding"],
                     case["last"])
    ya.backward(dy)
    torch.testing.assert_close(y, ya.detach())
    torch.testing.assert_close(dx, xa.grad)
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *y.shape[1:])
    assert check_gradients(layer, x, seed=case["seed"])["input"] < 1e-6


def test_average_same_padding_averages_real_entries_only():
    x = torch.arange(1.0, 6.0, dtype=torch.float64).view(1, 5, 1)
    y = layers.AveragePooling1D(2, padding="same")(x)
    # windows [1, 2], [3, 4], [5] (+ padding): the last mean is 5, not 2.5
    torch.testing.assert_close(y.flatten(), torch.tensor([1.5, 3.5, 5.0], dtype=torch.float64))
    # window 3, stride 2 on 0..7: the last window covers 6, 7 and one padding entry
    y = layers.AveragePooling1D(3, strides=2, padding="same")(
        torch.arange(8.0, dtype=torch.float64).view(1, 8, 1))
    torch.testing.assert_close(y.flatten(), torch.tensor([1.0, 3.0, 5.0, 6.5], dtype=torch.float64))
    y = layers.MaxPooling1D(2, padding="same")(-x)
    torch.testing.assert_close(y.flatten(), torch.tensor([-1.0, -3.0, -5.0], dtype=torch.float64))


GLOBAL = {(1, "average"): layers.GlobalAveragePooling1D, (2, "average"): layers.GlobalAveragePooling2D,
          (1, "max"): layers.GlobalMaxPooling1D, (2, "max"): layers.GlobalMaxPooling2D}


@pytest.mark.parametrize("rank, mode", list(GLOBAL))
@pytest.mark.parametrize("last", [True, False])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_global_pooling(rank, mode, last, keepdims, batch):
    g = torch.Generator().manual_seed(rank + 2 * last)
    fmt = "channels_last" if last else "channels_first"
    layer = GLOBAL[rank, mode](data_format=fmt, keepdims=keepdims)
    sizes = (4, 3)[:rank]
    shape = (batch, *sizes, 2) if last else (batch, 2, *sizes)
    x = distinct(g, *shape)
    layer(x)
    y, backward = layer.forward(x)
    axes = tuple(range(1, 1 + rank)) if last else tuple(range(2, 2 + rank))
    xa = x.clone().requires_grad_(True)
    ya = xa.mean(axes, keepdim=keepdims) if mode == "average" else xa.amax(axes, keepdim=keepdims)
    dy = torch.randn(ya.shape, generator=g, dtype=torch.float64)
    ya.backward(dy)
    torch.testing.assert_close(y, ya.detach())
    torch.testing.assert_close(backward(dy), xa.grad)
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *y.shape[1:])
    assert check_gradients(layer, x)["input"] < 1e-6


def test_aliases_and_round_trips(tmp_path):
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.GlobalAvgPool1D is \
        layers.GlobalAveragePooling1D
    model = ks.Sequential([ks.Input((6, 6, 2)), layers.MaxPool2D(padding="same", strides=1),
                           layers.AveragePooling2D((2, 3), padding="same"),
                           layers.GlobalMaxPooling2D(keepdims=True), layers.Flatten(),
                           layers.Dense(2)])
    x = distinct(torch.Generator().manual_seed(0), 3, 6, 6, 2)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, torch.zeros(3, 2, dtype=torch.float64), epochs=1, verbose=0)
    path = tmp_path / "pool.keras"
    model.save(path)
    loaded = ks.models.load_model(path)
    torch.testing.assert_close(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for layer in model.layers:
        assert layers.deserialize(layers.serialize(layer)).get_config() == layer.get_config()
    assert layers.MaxPooling1D(3).compute_output_shape((None, None, 4)) == (None, None, 4)
    assert layers.AveragePooling2D(padding="same").compute_output_shape((None, 5, None, 4)) == \
        (None, 3, None, 4)


@pytest.mark.parametrize("make, arg", [
    (lambda: layers.MaxPooling2D(0), "pool_size"),
    (lambda: layers.MaxPooling2D((2, 2, 2)), "pool_size"),
    (lambda: layers.AveragePooling1D(2, strides=0), "strides"),
    (lambda: layers.MaxPooling1D(2, padding="causal"), "padding"),
    (lambda: layers.AveragePooling2D(data_format="NHWC"), "data_format"),
    (lambda: layers.GlobalAveragePooling2D(keepdims=1), "keepdims"),
    (lambda: layers.GlobalMaxPooling1D(data_format="x"), "data_format"),
])
def test_bad_arguments_name_the_argument(make, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        make()


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="rank 4"):
        layers.MaxPooling2D()(torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D(3)(torch.zeros(2, 2, 4, 1))
    with pytest.raises(ValueError, match="rank 3"):
        layers.GlobalAveragePooling1D()(torch.zeros(2, 4, 4, 1))
