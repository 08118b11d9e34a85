"""Stateful recurrent layers (Keras's `stateful=True`): each batch starts from the previous batch's
final states, gradients stop at the batch boundary (truncated backpropagation through time), and
`reset_state()` forgets the states. Checked against the unbroken sequence, torch autograd in
float64 and Keras 3."""

import numpy as np
import pytest
import torch
from test_layers_conv_keras import keras_available, run_keras  # noqa: E402 (tests/ on sys.path)
from test_layers_recurrent import assert_same_weights, sgd_step  # noqa: E402

import kerasette as ks
from kerasette import layers


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _twins(cls, **kwargs):
    """A stateful layer and a plain one with the same weights, both returning sequences."""
    ks.utils.set_random_seed(0)
    stateful = cls(3, return_sequences=True, stateful=True, **kwargs)
    plain = cls(3, return_sequences=True, **kwargs)
    stateful.build((None, None, 2))
    plain.build((None, None, 2))
    plain.set_weights(stateful.get_weights())
    return stateful, plain


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_chunks_of_a_stateful_layer_are_the_whole_sequence(cls):
    stateful, plain = _twins(cls)
    x = randn(4, 8, 2)
    pieces = [stateful(x[:, :3]), stateful(x[:, 3:5]), stateful(x[:, 5:])]
    np.testing.assert_allclose(torch.cat(pieces, 1), plain(x), rtol=0, atol=1e-12)
    stateful.reset_state()
    np.testing.assert_allclose(stateful(x[:, :3]), plain(x[:, :3]), rtol=0, atol=1e-12)
    assert cls.from_config(stateful.get_config()).stateful


@pytest.mark.usefixtures("float64")
def test_training_stops_gradients_at_the_batch_boundary():
    """Two steps of SGD on consecutive chunks, against autograd with the carried state detached."""
    x_in = ks.Input((3, 2))
    lstm = layers.LSTM(3, stateful=True)
    model = ks.Model(x_in, layers.Dense(1)(lstm(x_in)))
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss="mse")
    W, U, b, V, c = (torch.tensor(w, requires_grad=True) for w in model.get_weights())
    x, y = randn(4, 9, 2, seed=1), randn(4, 3, 1, seed=2)
    h = cst = torch.zeros(4, 3, dtype=torch.float64)
    for k in range(3):
        got = model.train_on_batch(x[:, 3 * k:3 * k + 3], y[:, k])
        h, cst = h.detach(), cst.detach()  # truncated: no gradient into the previous chunk
        for t in range(3 * k, 3 * k + 3):
            g = x[:, t] @ W + b + h @ U
            i, f, cc, o = (g[:, j * 3:(j + 1) * 3] for j in range(4))
            cst = torch.sigmoid(f) * cst + torch.sigmoid(i) * torch.tanh(cc)
            h = torch.sigmoid(o) * torch.tanh(cst)
        want = sgd_step(((h @ V + c - y[:, k]) ** 2).mean(), (W, U, b, V, c), 0.1)
        assert abs(got - want) < 1e-10
    assert_same_weights(model, (W, U, b, V, c))


def test_a_different_batch_size_is_refused_until_reset():
    layer = layers.GRU(2, stateful=True)
    layer(torch.randn(4, 3, 2))
    with pytest.raises(ValueError, match="stateful and kept states for batches of 4"):
        layer(torch.randn(3, 3, 2))
    layer.reset_states()  # Keras's older name
    assert layer(torch.randn(3, 3, 2)).shape == (3, 2)


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
data = np.load(sys.argv[2])
out = {}
for name in ("SimpleRNN", "LSTM", "GRU"):
    inp = keras.Input(batch_shape=(4, None, 2))
    layer = getattr(keras.layers, name)(3, return_sequences=True, stateful=True)
    model = keras.Model(inp, layer(inp))
    model.set_weights([data[f"{name}_{j}"] for j in range(len(model.get_weights()))])
    first = model.predict(data["x"][:, :4], batch_size=4, verbose=0)
    second = model.predict(data["x"][:, 4:], batch_size=4, verbose=0)
    out[name] = np.concatenate([first, second], 1)
np.savez(sys.argv[3], **out)
"""


@pytest.mark.skipif(not keras_available(), reason="Keras 3 (torch backend) is not installed")
def test_stateful_chunks_equal_keras_3(tmp_path):
    x = torch.randn(4, 7, 2, generator=torch.Generator().manual_seed(3))
    arrays, ours = {"x": x.numpy()}, {}
    for name in ("SimpleRNN", "LSTM", "GRU"):
        inp = ks.Input((None, 2))
        model = ks.Model(inp, getattr(layers, name)(3, return_sequences=True, stateful=True)(inp))
        for j, w in enumerate(model.get_weights()):
            arrays[f"{name}_{j}"] = np.asarray(w)
        ours[name] = torch.cat([torch.as_tensor(model.predict(x[:, :4], batch_size=4, verbose=0)),
                                torch.as_tensor(model.predict(x[:, 4:], batch_size=4, verbose=0))],
                               1)
    theirs = run_keras(KERAS_SCRIPT, [], arrays, tmp_path)
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-6, err_msg=name)
