"""BatchNormalization under a Keras mask: training statistics over the real positions
(kerasette/masked_norm_kernels.py), against torch autograd in float64 and Keras 3."""

import numpy as np
import pytest
import torch
from padding_check import assert_padding_changes_nothing  # noqa: E402
from test_layers_conv_keras import keras_available, run_keras  # noqa: E402 (tests/ on sys.path)

import kerasette as ks
from kerasette import layers

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py

MASK = torch.tensor([[True, True, True, False, False], [True, False, True, True, False],
                     [True, True, True, True, True]])


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(3, 5, 4, generator=g, dtype=torch.float64) * 2 + 1


def _oracle(x, mask, gamma, beta, eps):
    """Keras's masked moments (fuzz 1e-7), every position normalised, written for autograd."""
    m = mask[..., None].to(x.dtype).expand(x.shape)
    W = m.sum((0, 1)) + ks.config.epsilon()
    mean = (m * x).sum((0, 1)) / W
    var = (m * (x - mean) ** 2).sum((0, 1)) / W
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, mean, var


def test_masked_statistics_forward_backward_and_moving_stats_match_autograd():
    layer = layers.BatchNormalization(momentum=0.9)
    x = _data()
    layer.build(x.shape)
    g = torch.Generator().manual_seed(1)
    layer.set_weights([torch.rand(4, generator=g, dtype=torch.float64) + 0.5,
                       torch.randn(4, generator=g, dtype=torch.float64), torch.zeros(4),
                       torch.ones(4)])
    y, backward = layer.forward(x, True, mask=MASK)
    xs = x.clone().requires_grad_(True)
    gamma = torch.tensor(layer.get_weights()[0], requires_grad=True)
    beta = torch.tensor(layer.get_weights()[1], requires_grad=True)
    ref, mean, var = _oracle(xs, MASK, gamma, beta, layer.epsilon)
    np.testing.assert_allclose(y, ref.detach(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.get_weights()[2], 0.1 * mean.detach(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.get_weights()[3], 0.9 + 0.1 * var.detach(), rtol=0, atol=1e-12)
    dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    dx = backward(dy)
    rx, rg, rb = torch.autograd.grad(ref, (xs, gamma, beta), dy)
    np.testing.assert_allclose(dx, rx, rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.gamma.grad, rg, rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.beta.grad, rb, rtol=0, atol=1e-10)


def test_masked_statistics_match_central_differences():
    layer = layers.BatchNormalization(center=False)
    x = _data(2)
    layer.build(x.shape)
    y, backward = layer.forward(x, True, mask=MASK)
    r = torch.randn(y.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    dx = backward(r)
    eps, numeric = 1e-6, torch.zeros_like(x)
    for i in range(x.numel()):
        for sign in (1, -1):
            xp = x.clone()
            xp.view(-1)[i] += sign * eps
            numeric.view(-1)[i] += sign * (layer.forward(xp, True, mask=MASK)[0] * r).sum()
    np.testing.assert_allclose(dx, numeric / (2 * eps), rtol=0, atol=1e-7)


def test_padding_does_not_change_statistics_learned_in_a_model():
    def model():
        ks.utils.set_random_seed(0)
        inp = ks.Input((None,), dtype="int64")
        h = layers.BatchNormalization()(layers.Embedding(9, 4, mask_zero=True)(inp))
        return ks.Model(inp, layers.Dense(1)(layers.GlobalAveragePooling1D()(h)))
    short = torch.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 1], [2, 2, 2]])
    padded = torch.cat([short, torch.zeros(4, 3, dtype=short.dtype)], 1)
    assert_padding_changes_nothing(model, short, padded, 2, 4)  # moving statistics included


def test_a_mask_of_the_wrong_shape_is_refused():
    layer = layers.BatchNormalization()
    x = _data()
    layer.build(x.shape)
    with pytest.raises(ValueError, match="Invalid mask for BatchNormalization"):
        layer.forward_masked(x, True, MASK[:, :, None])


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
data = np.load(sys.argv[2])
layer = keras.layers.BatchNormalization(momentum=0.9)
layer.build(data["x"].shape)
layer.set_weights([data["gamma"], data["beta"], np.zeros(4, "float32"), np.ones(4, "float32")])
y = layer(data["x"], training=True, mask=data["mask"])
out = {"y": keras.ops.convert_to_numpy(y)}
out["moving_mean"], out["moving_variance"] = [np.asarray(w) for w in layer.get_weights()[2:]]
np.savez(sys.argv[3], **out)
"""


@pytest.mark.skipif(not keras_available(), reason="Keras 3 (torch backend) is not installed")
def test_masked_batch_normalization_equals_keras_3(tmp_path):
    x = _data(5).float()
    gamma, beta = torch.linspace(0.5, 1.5, 4), torch.linspace(-1, 1, 4)
    ks.config.set_floatx("float32")
    layer = layers.BatchNormalization(momentum=0.9)
    layer.build(x.shape)
    layer.set_weights([gamma, beta, torch.zeros(4), torch.ones(4)])
    y, _ = layer.forward(x, True, mask=MASK)
    theirs = run_keras(KERAS_SCRIPT, [], {"x": x.numpy(), "mask": MASK.numpy(),
                                          "gamma": gamma.numpy(), "beta": beta.numpy()}, tmp_path)
    np.testing.assert_allclose(y, theirs["y"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[2], theirs["moving_mean"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.get_weights()[3], theirs["moving_variance"], rtol=1e-5,
                               atol=1e-6)
