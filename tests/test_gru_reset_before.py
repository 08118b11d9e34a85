"""GRU(reset_after=False), Keras 2's form (kerasette/layers/recurrent_gru.py): the reset gate on the
state before its product. Trains as torch autograd on the same math (float64, 20 steps, 1e-10, with
dropout, recurrent dropout and a mask), matches central differences, and equals Keras 3."""

import numpy as np
import pytest
import torch
from test_layers_conv_keras import keras_available, run_keras  # noqa: E402 (tests/ on sys.path)
from test_layers_recurrent import assert_same_weights, sgd_step  # noqa: E402

import kerasette as ks
from kerasette import layers
from kerasette.testing import check_gradients


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def torch_gru_before(x, W, U, b, keep_x=None, keep_h=None, mask=None, go_backwards=False):
    """The last state of a reset-before GRU, written for autograd (Keras's GRUCell.call)."""
    n, steps, _ = x.shape
    u = U.shape[0]
    h = torch.zeros(n, u, dtype=x.dtype)
    if keep_x is not None:
        x = x * keep_x[:, None, :]
    for t in (range(steps - 1, -1, -1) if go_backwards else range(steps)):
        h_in = h if keep_h is None else h * keep_h
        xz = x[:, t] @ W + b
        z = torch.sigmoid(xz[:, :u] + h_in @ U[:, :u])
        r = torch.sigmoid(xz[:, u:2 * u] + h_in @ U[:, u:2 * u])
        hh = torch.tanh(xz[:, 2 * u:] + (r * h_in) @ U[:, 2 * u:])
        new = z * h + (1 - z) * hh
        h = new if mask is None else torch.where(mask[:, t, None], new, h)
    return h


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("config", [{}, {"go_backwards": True}, {"return_sequences": True}])
def test_backward_through_time_matches_central_differences(config):
    layer = layers.GRU(3, reset_after=False, bias_initializer="random_normal", **config)
    errors = check_gradients(layer, randn(2, 4, 3))
    assert layer.bias.value.shape == (9,)  # one bias row in this form
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("masked", [False, True])
def test_trains_like_autograd_with_dropout_and_masks(masked):
    x_in = ks.Input((5, 3))
    rnn = layers.GRU(4, reset_after=False, dropout=0.3, recurrent_dropout=0.25, seed=11,
                     bias_initializer="random_normal")
    h = layers.Masking(0.0)(x_in) if masked else x_in
    model = ks.Model(x_in, layers.Dense(1)(rnn(h)))
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss="mse")
    W, U, b, V, c = (torch.tensor(w, requires_grad=True) for w in model.get_weights())
    masks = torch.Generator().manual_seed(11)  # the layer's stream: input mask, then state mask
    for step in range(20):
        x, y = randn(6, 5, 3, seed=step), randn(6, 1, seed=100 + step)
        mask = None
        if masked:
            x[step % 6, 3:] = 0.0  # a padded row end
            mask = (x != 0).any(-1)
        got = model.train_on_batch(x, y)
        keep_x = (torch.rand(6, 3, generator=masks) >= 0.3).double() / 0.7
        keep_h = (torch.rand(6, 4, generator=masks) >= 0.25).double() / 0.75
        h = torch_gru_before(x, W, U, b, keep_x, keep_h, mask)
        want = sgd_step(((h @ V + c - y) ** 2).mean(), (W, U, b, V, c), 0.1)
        assert abs(got - want) < 1e-10
    assert_same_weights(model, (W, U, b, V, c))


def test_config_round_trip_keeps_the_form():
    layer = layers.GRU(2, reset_after=False)
    assert layers.GRU.from_config(layer.get_config()).reset_after is False
    with pytest.raises(TypeError, match="reset_after"):
        layers.GRU(2, reset_after=0)


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
data = np.load(sys.argv[2])
out = {}
for i, go_backwards in enumerate((False, True)):
    layer = keras.layers.GRU(3, reset_after=False, return_sequences=True,
                             go_backwards=go_backwards)
    layer.build(data["x"].shape)
    layer.set_weights([data["w"], data["u"], data["b"]])
    out[f"y{i}"] = keras.ops.convert_to_numpy(layer(data["x"], mask=data["mask"]))
np.savez(sys.argv[3], **out)
"""


@pytest.mark.skipif(not keras_available(), reason="Keras 3 (torch backend) is not installed")
def test_outputs_equal_keras_3(tmp_path):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 6, 2, generator=g)
    w, u, b = (torch.randn(*s, generator=g) * 0.5 for s in ((2, 9), (3, 9), (9,)))
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 0, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]).bool()
    theirs = run_keras(KERAS_SCRIPT, [], {"x": x.numpy(), "w": w.numpy(), "u": u.numpy(),
                                          "b": b.numpy(), "mask": mask.numpy()}, tmp_path)
    for i, go_backwards in enumerate((False, True)):
        layer = layers.GRU(3, reset_after=False, return_sequences=True, go_backwards=go_backwards)
        layer.build(x.shape)
        layer.set_weights([w, u, b])
        y, _ = layer.forward(x, False, mask=mask)
        np.testing.assert_allclose(y, theirs[f"y{i}"], rtol=1e-5, atol=1e-6)
