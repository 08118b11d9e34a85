"""`ks.layers.Normalization`: statistics from `adapt` as Keras 3 computes them (the numbers below are
what the keras package prints for the same data), its gradient, batches combined exactly, state that
saves and never trains, and refusals."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Normalization
from kerasette.testing import check_gradients


def data():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(50, 3)) * [1, 10, 100] + [0, 5, -7]).astype("float32")


def test_adapt_and_call_as_keras_3():
    x = data()
    norm = Normalization()
    norm.adapt(x)
    mean, variance, count = norm.get_weights()
    np.testing.assert_allclose(mean, [-0.1982, 5.8947, 22.7821], atol=1e-4)
    np.testing.assert_allclose(variance, [1.2242, 68.8454, 7202.8774], rtol=1e-4)  # 4 decimals
    assert count == 0  # Keras keeps it for old files only
    np.testing.assert_allclose(norm(x[:2]), [[0.29280, -0.26705, 0.40368],
                                             [0.27398, -0.75343, 0.07514]], atol=1e-5)
    scalar = Normalization(axis=None)
    scalar.adapt(x)
    np.testing.assert_allclose([w for w in scalar.get_weights()[:2]], [9.4928, 2518.8047], rtol=1e-5)
    given = Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.0])
    assert given(np.ones((1, 3), "float32")).tolist() == [[0.0, -1.0, -2e7]]  # std floored at 1e-7
    inverse = Normalization(invert=True, mean=2.0, variance=9.0)
    assert inverse(np.ones((1, 3), "float32")).tolist() == [[5.0, 5.0, 5.0]]


@pytest.mark.usefixtures("float64")
def test_batches_combine_exactly_and_axes_keep_their_own_statistics():
    x = torch.randn(40, 4, 2, dtype=torch.float64) * 3 + 1
    whole, parts = Normalization(axis=(1, 2)), Normalization(axis=(1, 2))
    whole.adapt(x)
    parts.adapt(iter([(x[:7], None), x[7:30].numpy(), x[30:]]))  # (x, y) pairs, arrays, tensors
    for a, b in zip(whole.get_weights(), parts.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(whole.get_weights()[0], x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(whole.get_weights()[1], x.var(0, unbiased=False), rtol=1e-12)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("invert", [False, True])
def test_gradient_against_differences_and_autograd(invert):
    norm = Normalization(invert=invert)
    x = torch.randn(6, 3, dtype=torch.float64) * 2
    norm.adapt(x)
    assert check_gradients(norm, x)["input"] < 1e-6
    y, backward = norm.forward(x)
    mean, var = (torch.as_tensor(w) for w in norm.get_weights()[:2])
    xr = x.clone().requires_grad_(True)
    dy = torch.randn(6, 3, dtype=torch.float64)
    (mean + xr * var.sqrt() if invert else (xr - mean) / var.sqrt()).backward(dy)
    torch.testing.assert_close(backward(dy), xr.grad)


def test_in_a_model_the_statistics_never_train_and_are_saved(tmp_path):
    x = data()
    norm = Normalization()
    norm.adapt(x)
    model = ks.Sequential([ks.Input((3,)), norm, ks.layers.Dense(1)])
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 3
    model.compile("sgd", "mse")
    before = norm.get_weights()
    model.fit(x, x[:, :1] / 10, epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, norm.get_weights()))
    model.save(tmp_path / "m.keras")
    again = ks.models.load_model(tmp_path / "m.keras")
    torch.testing.assert_close(again.predict(x, verbose=0), model.predict(x, verbose=0))
    layer = again.layers[0]
    assert isinstance(layer, Normalization)
    np.testing.assert_array_equal(layer.get_weights()[1], before[1])


@pytest.mark.parametrize("make, error, match", [
    (lambda: Normalization(mean=1.0), ValueError, "give both or neither"),
    (lambda: Normalization(axis="last"), ValueError, "Invalid axis"),
    (lambda: Normalization(axis=0).adapt(data()), ValueError, "cannot be the batch axis"),
    (lambda: Normalization(axis=3).adapt(data()), ValueError, "Invalid axis: .3,. for inputs"),
    (lambda: Normalization(mean=0.0, variance=1.0).adapt(data()), ValueError, "was given mean"),
    (lambda: Normalization().adapt(5), TypeError, "Invalid data: expected an array"),
    (lambda: Normalization().adapt([]), ValueError, "received no samples"),
])
def test_refusals_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_adapt_refuses_data_of_another_shape():
    norm = Normalization()
    norm.adapt(data())
    with pytest.raises(ValueError, match=r"built for samples of shape \(3,\), received a batch"):
        norm.adapt(np.zeros((4, 2)))
