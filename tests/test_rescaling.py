"""`ks.layers.Rescaling`: y = x * scale + offset, values checked against what Keras 3 prints for the
same arrays, its gradient, per-channel factors, integer images, config and refusals."""

import json

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Rescaling
from kerasette.testing import check_gradients

PIXELS = (np.arange(24).reshape(2, 2, 2, 3) * 10).astype("uint8")


def test_values_as_keras_3_computes_them():
    # keras.layers.Rescaling(1 / 255)(PIXELS) starts 0, 0.03921569, 0.07843138 (float32), and the
    # per-channel form below starts -1, 10, 41, 14, 40, 101 (checked with the keras package)
    out = Rescaling(1 / 255)(PIXELS)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.ravel()[:3], [0.0, 0.03921569, 0.07843138], rtol=1e-6)
    per_channel = Rescaling([0.5, 1.0, 2.0], offset=[-1.0, 0.0, 1.0])(PIXELS.astype("float32"))
    assert per_channel.ravel()[:6].tolist() == [-1.0, 10.0, 41.0, 14.0, 40.0, 101.0]


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("scale, offset", [(0.5, 1.0), ([0.5, -2.0, 3.0], [0.0, 1.0, -1.0])])
def test_gradient_against_differences_and_autograd(scale, offset):
    layer = Rescaling(scale, offset)
    x = torch.randn(4, 3, dtype=torch.float64)
    assert check_gradients(layer, x)["input"] < 1e-6
    y, backward = layer.forward(x)
    xr = x.clone().requires_grad_(True)
    dy = torch.randn(4, 3, dtype=torch.float64)
    (xr * torch.tensor(scale, dtype=torch.float64) + torch.tensor(offset, dtype=torch.float64)
     ).backward(dy)
    torch.testing.assert_close(backward(dy), xr.grad)


def test_an_image_model_trains_on_uint8_pixels_and_saves(tmp_path):
    model = ks.Sequential([ks.Input((2, 2, 3)), Rescaling(1 / 255), ks.layers.Flatten(),
                           ks.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(np.repeat(PIXELS, 4, axis=0), np.ones((8, 1)), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "m.keras")
    again = ks.models.load_model(tmp_path / "m.keras")
    torch.testing.assert_close(again.predict(PIXELS, verbose=0), model.predict(PIXELS, verbose=0))
    spec = json.loads(json.dumps(ks.layers.serialize(Rescaling([1.0, 2.0], offset=0.5))))
    assert ks.layers.deserialize(spec).get_config()["scale"] == [1.0, 2.0]


@pytest.mark.parametrize("make, match", [
    (lambda: Rescaling("1/255"), "Invalid scale: expected a number"),
    (lambda: Rescaling(1.0, offset=[]), "Invalid offset"),
    (lambda: Rescaling(True), "Invalid scale"),
    (lambda: Rescaling([1.0, 2.0])(ks.Input((3,))), r"Invalid scale: 2 values for inputs with 3"),
    (lambda: Rescaling([1.0, 2.0])(np.ones((2, 3))), r"Invalid scale: 2 values for inputs with 3"),
])
def test_bad_factors_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()
