"""SimpleRNN, LSTM and GRU: backpropagation through time against central differences and torch
autograd on the same math (float64), training in a model, saving, Keras 3's outputs for the same
weights (when Keras is installed), and the refusals."""


import numpy as np
import pytest
import torch
from test_examples import load as load_example  # noqa: E402  (tests/ is on sys.path)
from test_layers_conv_keras import keras_available, run_keras  # noqa: E402

import kerasette as ks
from kerasette import layers
from kerasette.testing import check_gradients

CONFIGS = [dict(), dict(return_sequences=True), dict(go_backwards=True, return_sequences=True),
           dict(return_state=True), dict(return_sequences=True, return_state=True,
                                         go_backwards=True)]


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(c) or "last")
def test_backward_through_time_matches_central_differences(cls, config):
    layer = cls(3, bias_initializer="random_normal", **config)
    errors = check_gradients(layer, randn(2, 4, 3))
    assert set(errors) == {"input", f"{layer.name}/kernel", f"{layer.name}/recurrent_kernel",
                           f"{layer.name}/bias"}
    assert max(errors.values()) < 1e-7, errors


# ----- the same math in torch, differentiated by autograd ------------------------------------------
def torch_rnn(kind, x, W, U, b, go_backwards=False, keep_x=None, keep_h=None):
    """All states h_t (and the last c for LSTM) by the gate equations in kerasette's docstrings;
    keep_x / keep_h: dropout masks on the inputs and on the state fed to U."""
    n, steps, _ = x.shape
    u = U.shape[0]
    h = torch.zeros(n, u, dtype=x.dtype)
    c = torch.zeros(n, u, dtype=x.dtype)
    hs = []
    if keep_x is not None:
        x = x * keep_x[:, None, :]
    for t in (range(steps - 1, -1, -1) if go_backwards else range(steps)):
        hu = (h if keep_h is None else h * keep_h) @ U
        if kind == "SimpleRNN":
            h = torch.tanh(x[:, t] @ W + b + hu)
        elif kind == "LSTM":
            g = x[:, t] @ W + b + hu
            i, f, cc, o = (g[:, k * u:(k + 1) * u] for k in range(4))
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cc)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:  # GRU, reset_after
            xz, m = x[:, t] @ W + b[0], hu + b[1]
            z = torch.sigmoid(xz[:, :u] + m[:, :u])
            r = torch.sigmoid(xz[:, u:2 * u] + m[:, u:2 * u])
            hh = torch.tanh(xz[:, 2 * u:] + r * m[:, 2 * u:])
            h = z * h + (1 - z) * hh
        hs.append(h)
    return torch.stack(hs, 1), h, c


def sgd_step(loss, params, lr):
    """One plain SGD step of the autograd oracle on `params`; the loss as a float."""
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p -= lr * g
    return float(loss.detach())


def assert_same_weights(model, params):
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=0, atol=1e-10)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_a_sequence_model_trains_like_autograd(kind):
    x_in = ks.Input((5, 3))
    rnn = getattr(layers, kind)(4, return_sequences=True, go_backwards=kind == "GRU")
    head = layers.Dense(1)
    model = ks.Model(x_in, head(layers.GlobalAveragePooling1D()(rnn(x_in))))
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss="mse")
    W, U, b, V, c = (torch.tensor(w, requires_grad=True) for w in model.get_weights())
    for step in range(20):
        x, y = randn(6, 5, 3, seed=step), randn(6, 1, seed=100 + step)
        got = model.train_on_batch(x, y)
        seq, _, _ = torch_rnn(kind, x, W, U, b, go_backwards=kind == "GRU")
        want = sgd_step(((seq.mean(1) @ V + c - y) ** 2).mean(), (W, U, b, V, c), 0.1)
        assert abs(got - want) < 1e-10
    assert_same_weights(model, (W, U, b, V, c))


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_dropout_and_recurrent_dropout_train_like_autograd_with_the_same_masks(kind):
    x_in = ks.Input((5, 3))
    rnn = getattr(layers, kind)(4, dropout=0.3, recurrent_dropout=0.25, seed=11)
    head = layers.Dense(1)
    model = ks.Model(x_in, head(rnn(x_in)))
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss="mse")
    W, U, b, V, c = (torch.tensor(w, requires_grad=True) for w in model.get_weights())
    masks = torch.Generator().manual_seed(11)  # the layer's stream: input mask, then state mask
    for step in range(20):
        x, y = randn(6, 5, 3, seed=step), randn(6, 1, seed=100 + step)
        got = model.train_on_batch(x, y)
        keep_x = (torch.rand(6, 3, generator=masks) >= 0.3).double() / 0.7
        keep_h = (torch.rand(6, 4, generator=masks) >= 0.25).double() / 0.75
        _, h, _ = torch_rnn(kind, x, W, U, b, keep_x=keep_x, keep_h=keep_h)
        want = sgd_step(((h @ V + c - y) ** 2).mean(), (W, U, b, V, c), 0.1)
        assert abs(got - want) < 1e-10
    assert_same_weights(model, (W, U, b, V, c))
    x = randn(3, 5, 3, seed=99)  # inference: no masks, the same output every time
    torch.testing.assert_close(model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert "dropout" in rnn.rng_generators()


@pytest.mark.usefixtures("float64")
def test_return_state_outputs_and_their_gradients_feed_a_model():
    x_in = ks.Input((4, 2))
    seq, h, c = layers.LSTM(3, return_sequences=True, return_state=True)(x_in)
    assert seq.shape == (None, 4, 3) and h.shape == c.shape == (None, 3)
    model = ks.Model(x_in, layers.Dense(1)(layers.Concatenate()([h, c])))
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()[0].copy()
    model.fit(randn(8, 4, 2), randn(8, 1), verbose=0)
    assert not np.allclose(before, model.get_weights()[0])  # the states' gradient reached W
    lstm = model.layers[1]
    out, h_last, c_last = lstm(randn(2, 4, 2))
    W, U, b = (w.value for w in lstm.weights)
    want_seq, want_h, want_c = torch_rnn("LSTM", randn(2, 4, 2), W, U, b)
    torch.testing.assert_close(out, want_seq)
    torch.testing.assert_close(h_last, want_h)
    torch.testing.assert_close(c_last, want_c)


def test_defaults_weights_and_config_follow_keras():
    lstm = layers.LSTM(5)
    lstm.build((None, 7, 3))
    assert [w.name.split("/")[-1] for w in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in lstm.weights] == [(3, 20), (5, 20), (20,)]
    bias = lstm.bias.value
    assert torch.equal(bias[5:10], torch.ones(5)) and not bias[:5].any()  # unit_forget_bias
    U = lstm.recurrent_kernel.value.double()
    torch.testing.assert_close(U @ U.T, torch.eye(5, dtype=torch.float64))  # orthogonal rows
    gru = layers.GRU(2)
    gru.build((None, 3, 4))
    assert [w.shape for w in gru.weights] == [(4, 6), (2, 6), (2, 6)]
    again = layers.deserialize(layers.serialize(layers.GRU(2, return_sequences=True,
                                                           go_backwards=True)))
    assert again.return_sequences and again.go_backwards and again.units == 2


def test_a_sequence_classifier_trains_saves_and_loads(tmp_path):
    ks.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 2)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("float32")[:, None]  # the sign of a running sum
    model = ks.Sequential([ks.Input((6, 2)), layers.GRU(8), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=ks.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=25, batch_size=16, verbose=0).history
    assert history["accuracy"][-1] >= 0.9
    model.save(tmp_path / "gru.keras")
    again = ks.models.load_model(tmp_path / "gru.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    lines = []
    model.summary(print_fn=lines.append)
    assert any("(GRU)" in line and "(None, 8)" in line for line in lines)


@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.LSTM(3, dropout=1.0), ValueError, "Invalid dropout"),
    (lambda: layers.GRU(3, recurrent_dropout=-0.1), ValueError, "Invalid recurrent_dropout"),
    (lambda: layers.GRU(3, seed=-1), ValueError, "Invalid seed"),
    (lambda: layers.SimpleRNN(3, stateful="yes"), TypeError, "stateful"),
    (lambda: layers.GRU(3, reset_after="no"), TypeError, "reset_after"),
    (lambda: layers.LSTM(0), ValueError, "units"),
    (lambda: layers.LSTM(2, return_sequences="yes"), TypeError, "return_sequences"),
])
def test_what_is_not_supported_is_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_inputs_must_be_sequences():
    with pytest.raises(ValueError, match=r"\(batch, steps, features\)"):
        layers.LSTM(2)(ks.Input((5,)))


# ----- Keras 3 itself --------------------------------------------------------------------------------
KERAS_CASES = [("SimpleRNN", dict(units=3, return_sequences=True)),
               ("LSTM", dict(units=3, return_sequences=True, go_backwards=True)),
               ("LSTM", dict(units=2, return_state=True)),
               ("GRU", dict(units=3, return_sequences=True)),
               ("GRU", dict(units=2, go_backwards=True, return_state=True)),
               ("Bidirectional", dict(layer=["LSTM", dict(units=3, return_sequences=True)])),
               ("Bidirectional", dict(layer=["GRU", dict(units=2)], merge_mode="sum")),
               ("TimeDistributed", dict(layer=["Dense", dict(units=3, activation="tanh")]))]


def make_layer(namespace, name, config):
    """`namespace.name(**config)`; a wrapper's "layer" entry is [class name, config]."""
    config = dict(config)
    if "layer" in config:
        inner_name, inner_config = config.pop("layer")
        return getattr(namespace, name)(getattr(namespace, inner_name)(**inner_config), **config)
    return getattr(namespace, name)(**config)

KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
cases = json.loads(sys.argv[1])
data = np.load(sys.argv[2])
out = {}
for i, (name, config) in enumerate(cases):
    config = dict(config)
    if "layer" in config:
        inner_name, inner_config = config.pop("layer")
        layer = getattr(keras.layers, name)(getattr(keras.layers, inner_name)(**inner_config),
                                            **config)
    else:
        layer = getattr(keras.layers, name)(**config)
    x = data["x"]
    layer.build(x.shape)
    layer.set_weights([data[f"w{i}_{j}"] for j in range(len(layer.get_weights()))])
    y = layer(x)
    for k, t in enumerate(y if isinstance(y, (list, tuple)) else [y]):
        out[f"y{i}_{k}"] = keras.ops.convert_to_numpy(t)
np.savez(sys.argv[3], **out)
"""


@pytest.mark.skipif(not keras_available(), reason="Keras 3 (torch backend) is not installed")
def test_outputs_equal_keras_3(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 4, generator=g)
    arrays, ours = {"x": x.numpy()}, []
    for i, (name, config) in enumerate(KERAS_CASES):
        layer = make_layer(layers, name, config)
        layer.build((None, 5, 4))
        weights = [torch.randn(w.shape, generator=g) * 0.5 for w in layer.weights]
        layer.set_weights(weights)
        for j, w in enumerate(weights):
            arrays[f"w{i}_{j}"] = w.numpy()
        y = layer(x)
        ours.append([t.numpy() for t in (y if isinstance(y, list) else [y])])
    theirs = run_keras(KERAS_SCRIPT, KERAS_CASES, arrays, tmp_path)
    for i, (name, config) in enumerate(KERAS_CASES):
        for k, mine in enumerate(ours[i]):
            np.testing.assert_allclose(mine, theirs[f"y{i}_{k}"], rtol=1e-5, atol=1e-5,
                                       err_msg=f"{name}({config}) output {k}")


# ----- initial states, Bidirectional, TimeDistributed --------------------------------------------------
@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_initial_states_get_their_gradients(cls):
    layer = cls(3, bias_initializer="random_normal", return_sequences=True)
    states = [randn(2, 3, seed=k) for k in range(2 if cls is layers.LSTM else 1)]
    errors = check_gradients(layer, [randn(2, 4, 3, seed=9), *states])
    assert len(errors) == 4 + len(states) and max(errors.values()) < 1e-7, errors


def test_an_encoder_decoder_passes_its_states_and_trains():
    ks.utils.set_random_seed(0)
    encoder_in, decoder_in = ks.Input((None, 5)), ks.Input((None, 4))
    _, h, c = layers.LSTM(8, return_state=True)(encoder_in)
    decoded = layers.LSTM(8, return_sequences=True)(decoder_in, initial_state=[h, c])
    model = ks.Model([encoder_in, decoder_in], layers.Dense(4)(decoded))
    model.compile(optimizer=ks.optimizers.Adam(0.01),
                  loss=ks.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(32, 6, 5)), rng.normal(size=(32, 7, 4))
    y = rng.integers(0, 4, size=(32, 7))  # labels per decoder step: lengths open (None) in the model
    first = model.get_weights()[0].copy()
    history = model.fit([x1, x2], y, epochs=5, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert not np.allclose(first, model.get_weights()[0])  # the encoder learned through the states
    with pytest.raises(ValueError, match="initial_state"):
        layers.LSTM(8)(decoder_in, initial_state=[h])


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("config", [dict(), dict(return_sequences=True, return_state=True)],
                         ids=["last", "sequences,states"])
def test_bidirectional_gradients_match_central_differences(merge_mode, config):
    layer = layers.Bidirectional(layers.GRU(3, bias_initializer="random_normal", **config),
                                 merge_mode=merge_mode)
    errors = check_gradients(layer, randn(2, 4, 3))
    assert len(errors) == 7 and max(errors.values()) < 1e-7, errors


def test_bidirectional_and_time_distributed_train_save_and_load(tmp_path):
    ks.utils.set_random_seed(0)
    x_in = ks.Input((6, 3))
    h = layers.Bidirectional(layers.LSTM(4, return_sequences=True, name="lstm"))(x_in)
    h = layers.TimeDistributed(layers.Dense(2, activation="tanh"))(h)
    model = ks.Model(x_in, layers.Dense(1)(layers.Flatten()(h)))
    assert model.layers[1].output.shape == (None, 6, 8)
    assert [w.name for w in model.layers[1].weights][:2] == ["forward_lstm/kernel",
                                                           "forward_lstm/recurrent_kernel"]
    model.compile(optimizer="adam", loss="mse")
    data = np.random.default_rng(0).normal(size=(16, 6, 3))
    model.fit(data, data.sum((1, 2))[:, None], epochs=2, verbose=0)
    model.save(tmp_path / "bi.keras")
    again = ks.models.load_model(tmp_path / "bi.keras")
    np.testing.assert_allclose(again.predict(data, verbose=0), model.predict(data, verbose=0),
                               rtol=1e-6)
    with pytest.raises(TypeError, match="SimpleRNN, LSTM or GRU"):
        layers.Bidirectional(layers.Dense(3))


def test_the_text_example_trains_its_bidirectional_lstm_and_transformer_block(capsys):
    example = load_example("text_embedding")
    threads = torch.get_num_threads()
    try:
        runs = example.main(["--seeds", "1", "--samples", "400", "--epochs", "3", "--rnn",
                             "--attention", "--no-baseline"])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "Bidirectional(LSTM(16))" in out and "transformer block" in out
    assert runs[0]["rnn_epochs"] <= 3 and 0.5 < runs[0]["rnn"] <= 1.0
    assert runs[0]["attention_epochs"] <= 3 and 0.5 < runs[0]["attention"] <= 1.0


@pytest.mark.parametrize("cell, cls", [(layers.SimpleRNNCell, layers.SimpleRNN),
                                       (layers.LSTMCell, layers.LSTM), (layers.GRUCell, layers.GRU)])
def test_rnn_of_a_built_in_cell_is_that_cells_layer(cell, cls):
    made = layers.RNN(cell(3, activation="relu"), return_sequences=True, go_backwards=True)
    same = cls(3, activation="relu", return_sequences=True, go_backwards=True)
    assert type(made) is cls and made.get_config() | {"name": ""} == same.get_config() | {"name": ""}
    x = torch.randn(2, 4, 5)
    made.build((None, 4, 5))
    same.build((None, 4, 5))
    same.set_weights(made.get_weights())
    torch.testing.assert_close(made(x), same(x))


def test_rnn_of_a_cell_without_a_step_says_what_it_needs():
    class NotACell(layers.Layer):  # no call(inputs, states), no state_size
        def __init__(self, units):
            super().__init__()
            self.units = units

    with pytest.raises(TypeError, match=r"call\(inputs, states\) and state_size"):
        layers.RNN(NotACell(3))
    with pytest.raises(TypeError, match="SimpleRNNCell, LSTMCell, GRUCell or a Layer"):
        layers.RNN("lstm")
