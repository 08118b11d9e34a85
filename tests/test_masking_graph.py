"""Keras masks through graphs (kerasette/layers/mask_protocol.py, kerasette/training/masks.py).

Training is checked in float64 against torch autograd on the same masked math, 20 steps, 1e-10;
forward values, masks, losses and metrics against Keras 3 where it is installed.
"""

import warnings

import numpy as np
import pytest
import torch
from padding_check import assert_padding_changes_nothing  # noqa: E402
from test_layers_conv_keras import keras_available, run_keras  # noqa: E402 (tests/ on sys.path)

import kerasette as ks
from kerasette import layers
from kerasette.explain import explain
from kerasette.testing import check_gradients

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py

# right-padded rows, a row with a hole (0 inside) and rows of different lengths
TOKENS = torch.tensor([[3, 5, 7, 0, 0, 0], [1, 0, 4, 4, 0, 0], [9, 9, 9, 9, 9, 2],
                       [6, 0, 0, 0, 0, 0], [2, 3, 0, 0, 0, 0], [8, 1, 1, 0, 5, 0],
                       [4, 4, 4, 4, 0, 0], [7, 0, 0, 0, 0, 0]])


def _sgd(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None


def _run_oracle(params, loss_fn, x, y, steps_per_epoch, batch, epochs, lr):
    for _ in range(epochs):
        for s in range(steps_per_epoch):
            rows = slice(s * batch, (s + 1) * batch)
            loss_fn(x[rows], y[rows]).backward()
            _sgd(params, lr)


def test_masked_average_trains_as_autograd():
    ks.utils.set_random_seed(0)
    inp = ks.Input((6,), dtype="int64")
    h = layers.Dense(5, activation="tanh")(layers.Embedding(12, 4, mask_zero=True)(inp))
    model = ks.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling1D()(h)))
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=0.2), loss="mse")
    y = torch.randn(8, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    params = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    E, W1, b1, W2, b2 = params

    def loss(x, t):
        m = (x != 0).to(torch.float64)[..., None]
        hh = torch.tanh(E[x] @ W1 + b1)
        pooled = (hh * m).sum(1) / m.sum(1)
        return ((pooled @ W2 + b2 - t) ** 2).mean()

    model.fit(TOKENS, y, batch_size=2, epochs=5, shuffle=False, verbose=0)  # 20 steps
    _run_oracle(params, loss, TOKENS, y, 4, 2, 5, 0.2)
    for ours, theirs in zip(model.get_weights(), params):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-10)
    # padded positions never matter: other values there give the same predictions
    filled = torch.where(TOKENS == 0, torch.zeros_like(TOKENS), TOKENS)
    np.testing.assert_array_equal(model.predict(filled, verbose=0),
                                  model.predict(TOKENS, verbose=0))


def _tagger(units=3):
    """Per-step classifier: Embedding(mask_zero) -> Dense(softmax), the output masked."""
    ks.utils.set_random_seed(0)
    inp = ks.Input((6,), dtype="int64")
    h = layers.Dense(4, activation="relu")(layers.Embedding(12, 5, mask_zero=True)(inp))
    return ks.Model(inp, layers.Dense(units, activation="softmax")(h))


def _tag_labels():
    return torch.randint(0, 3, TOKENS.shape, generator=torch.Generator().manual_seed(2))


def _masked_ce(params, x, t):
    """Keras's masked loss: sum over real positions / their count (sum_over_batch_size)."""
    E, W1, b1, W2, b2 = params
    logits = torch.relu(E[x] @ W1 + b1) @ W2 + b2
    ce = -torch.log_softmax(logits, -1).gather(-1, t[..., None])[..., 0]
    m = (x != 0).to(torch.float64)
    return (ce * m).sum() / m.sum()


def test_masked_sequence_loss_trains_as_autograd_through_the_fused_head():
    model = _tagger()
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=0.5),
                  loss="sparse_categorical_crossentropy")
    assert model._fused  # softmax + cross-entropy fused, and masked
    t = _tag_labels()
    params = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    model.fit(TOKENS, t, batch_size=2, epochs=5, shuffle=False, verbose=0)
    _run_oracle(params, lambda x, tt: _masked_ce(params, x, tt), TOKENS, t, 4, 2, 5, 0.5)
    for ours, theirs in zip(model.get_weights(), params):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-10)


def test_masked_loss_and_accuracy_count_real_positions_only():
    model = _tagger()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t = _tag_labels()
    params = [torch.tensor(w) for w in model.get_weights()]
    loss, acc = model.evaluate(TOKENS, t, batch_size=8, verbose=0)
    assert loss == pytest.approx(float(_masked_ce(params, TOKENS, t)), abs=1e-12)
    pred = torch.as_tensor(model.predict(TOKENS, verbose=0)).argmax(-1)
    real = (TOKENS != 0).numpy()
    assert acc == pytest.approx((pred == t).numpy()[real].mean(), abs=1e-12)
    # a user's sample weights multiply in (per sample)
    sw = torch.arange(1.0, 9.0, dtype=torch.float64)
    E, W1, b1, W2, b2 = params
    logits = torch.relu(E[TOKENS] @ W1 + b1) @ W2 + b2
    ce = -torch.log_softmax(logits, -1).gather(-1, t[..., None])[..., 0]
    m = torch.as_tensor(real, dtype=torch.float64)
    expected = (ce * m * sw[:, None]).sum() / m.sum()
    loss_w = model.evaluate(TOKENS, t, sample_weight=sw, batch_size=8, verbose=0)[0]
    assert loss_w == pytest.approx(float(expected), abs=1e-12)


def test_fully_padded_rows_add_nothing_to_the_loss():
    model = _tagger()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    t = _tag_labels()
    x = TOKENS.clone()
    x[0] = 0  # nothing real in row 0
    both = model.evaluate(x[:2], t[:2], batch_size=2, verbose=0)
    alone = model.evaluate(x[1:2], t[1:2], batch_size=1, verbose=0)
    assert both == pytest.approx(alone, abs=1e-12)
    assert np.isfinite(model.evaluate(x[:1], t[:1], verbose=0))  # no real position at all: 0


def test_masking_layer_values_mask_and_gradients():
    x = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x[0, 1] = 0.0
    x[2, 3:] = 0.0
    layer = layers.Masking()
    y, backward = layer.forward(x)
    mask = layer.compute_mask(x)
    expected = torch.ones(3, 5, dtype=torch.bool)
    expected[0, 1] = False
    expected[2, 3:] = False
    assert torch.equal(mask, expected)
    assert torch.equal(y, x * expected[..., None])
    dy = torch.randn_like(y)
    assert torch.equal(backward(dy), dy * expected[..., None])
    errors = check_gradients(layers.Masking(mask_value=0.5), x + 1.0)
    assert max(errors.values()) < 1e-8
    assert layers.Masking.from_config(layers.Masking(-1.0).get_config()).mask_value == -1.0
    with pytest.raises(TypeError, match="mask_value"):
        layers.Masking("0")


def test_masking_layer_masks_a_float_sequence_end_to_end():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(6, 5, 3, generator=g, dtype=torch.float64)
    x[:, 3:] = -1.0
    inp = ks.Input((5, 3))
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(layers.Masking(-1.0)(inp)))
    model = ks.Model(inp, out)
    pred = model.predict(x, verbose=0)
    W, b = model.get_weights()
    np.testing.assert_allclose(pred, x[:, :3].mean(1).numpy() @ W + b, atol=1e-12)


def test_nested_model_passes_its_mask_on():
    ks.utils.set_random_seed(0)
    inner = ks.Sequential([ks.Input((6,), dtype="int64"), layers.Embedding(12, 4, mask_zero=True),
                           layers.Dense(3)])
    inp = ks.Input((6,), dtype="int64")
    outer = ks.Model(inp, layers.Dense(1)(layers.GlobalAveragePooling1D()(inner(inp))))
    E, W1, b1, W2, b2 = (torch.tensor(w) for w in outer.get_weights())
    m = (TOKENS != 0).to(torch.float64)[..., None]
    expected = ((E[TOKENS] @ W1 + b1) * m).sum(1) / m.sum(1) @ W2 + b2
    np.testing.assert_allclose(outer.predict(TOKENS, verbose=0), expected.numpy(), atol=1e-12)
    assert not inner._graph.plan().chain  # a masked Sequential runs the general loop


def _two_masked(merge):
    a, b = ks.Input((4,), dtype="int64"), ks.Input((4,), dtype="int64")
    ea = layers.Embedding(9, 2, mask_zero=True)(a)
    eb = layers.Embedding(9, 2, mask_zero=True)(b)
    return ks.Model([a, b], merge([ea, eb]))


A = torch.tensor([[1, 2, 0, 0], [3, 0, 4, 0]])
B = torch.tensor([[1, 0, 5, 0], [3, 3, 3, 3]])


def _output_mask(model, xs):
    graph = model._graph
    return graph.forward_masked(xs, False, graph.plan())[2][0]


def test_merge_masks_follow_keras_rules():
    real_a, real_b = A != 0, B != 0
    a, b = ks.Input((4,), dtype="int64"), ks.Input((4, 2))
    unmasked_b = ks.Model([a, b], layers.Add()([layers.Embedding(9, 2, mask_zero=True)(a), b]))
    assert _output_mask(unmasked_b, [A, torch.zeros(2, 4, 2)]) is None
    assert torch.equal(_output_mask(_two_masked(layers.Add()), [A, B]), real_a | real_b)
    assert torch.equal(_output_mask(_two_masked(layers.Concatenate()), [A, B]), real_a | real_b)
    assert torch.equal(_output_mask(_two_masked(layers.Concatenate(axis=1)), [A, B]),
                       torch.cat([real_a, real_b], 1))
    assert _output_mask(_two_masked(layers.Dot(axes=2)), [A, B]) is None
    # one unmasked input of a feature concatenation makes every step real (Keras's ones_like)
    a, b = ks.Input((4,), dtype="int64"), ks.Input((4, 2))
    model = ks.Model([a, b], layers.Concatenate()([layers.Embedding(9, 2, mask_zero=True)(a), b]))
    assert bool(_output_mask(model, [A, torch.zeros(2, 4, 2)]).all())


def test_unmasked_graphs_keep_the_plain_paths():
    model = ks.Sequential([ks.Input((6,)), layers.Embedding(12, 4), layers.Flatten(),
                           layers.Dense(1)])
    plan = model._graph.plan()
    assert plan.chain and not plan.masked
    model.compile(optimizer="sgd", loss="mse")
    model.fit(TOKENS, torch.zeros(8, 1), verbose=0)
    assert model._batch_masks is None


def test_layers_that_cannot_honour_a_mask_say_so():
    inp = ks.Input((6,), dtype="int64")
    emb = layers.Embedding(12, 4, mask_zero=True)(inp)
    model = ks.Model(inp, layers.Dense(1)(layers.Flatten()(emb)))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="does not support masking"):
        model.fit(TOKENS, torch.zeros(8, 1), verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per layer
        model.fit(TOKENS, torch.zeros(8, 1), verbose=0)
    synced = layers.BatchNormalization(synchronized=True)
    bn = ks.Model(inp, layers.GlobalAveragePooling1D()(synced(emb)))
    bn.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="synchronized=True.* masked input in training"):
        bn.fit(TOKENS, torch.zeros(8, 4), verbose=0)
    assert bn.predict(TOKENS, verbose=0).shape == (8, 4)  # inference does not need the mask


def test_explain_refuses_a_masked_model():
    model = _tagger()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="explain does not yet follow Keras masks"):
        explain(model, TOKENS[:2], _tag_labels()[:2])


def test_saved_model_with_masking_round_trips(tmp_path):
    inp = ks.Input((5, 3))
    model = ks.Model(inp, layers.Dense(1)(layers.GlobalAveragePooling1D()(
        layers.Masking(-1.0)(inp))))
    x = torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    x[:, 2:] = -1.0
    model.save(tmp_path / "m.keras")
    loaded = ks.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def _attention_model(causal=False, cross=False):
    """Embedding(mask_zero) -> a transformer block (MultiHeadAttention with residual and
    LayerNormalization) -> GlobalAveragePooling1D -> Dense: the masks reach the attention, the
    normalization and the average."""
    ks.utils.set_random_seed(3)
    inp = ks.Input((None,), dtype="int64")
    x = layers.Embedding(12, 4, mask_zero=True)(inp)
    keys = ks.Input((None,), dtype="int64") if cross else None  # cross-attention: a 2nd input
    other = layers.Embedding(12, 4, mask_zero=True)(keys) if cross else x
    a = layers.MultiHeadAttention(num_heads=2, key_dim=3)(x, other, use_causal_mask=causal)
    x = layers.LayerNormalization()(layers.Add()([x, a]))
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(x))
    return ks.Model([inp, keys] if cross else inp, out)


def test_attention_softmax_under_a_mask_matches_autograd():
    from kerasette.layers import AttentionSoftmaxOp

    g = torch.Generator().manual_seed(8)
    scores = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    q_mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    v_mask = torch.tensor([[True, True, True, False, False], [True, False, True, True, True]])
    for causal in (False, True):
        op = AttentionSoftmaxOp(causal=causal)
        y, backward = op.forward([scores, None, None], mask=[None, q_mask, v_mask])
        m = q_mask[:, None, :, None] & v_mask[:, None, None, :]
        if causal:
            m = m & torch.ones(4, 5, dtype=torch.bool).tril()
        s = scores.clone().requires_grad_(True)
        ref = torch.where(m, torch.softmax(torch.where(m, s, -1e9), -1), 0.0)
        np.testing.assert_allclose(y, ref.detach(), rtol=0, atol=1e-14)
        assert not y[0, :, 2:].any()  # a padded query step attends to nothing
        dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
        ds, *rest = backward(dy)
        (expected,) = torch.autograd.grad(ref, s, dy)
        np.testing.assert_allclose(ds, expected, rtol=0, atol=1e-12)
        assert rest == [None, None]


@pytest.mark.parametrize("causal, cross", [(False, False), (True, False), (False, True)])
def test_padding_does_not_change_a_masked_transformer_block(causal, cross):
    short = TOKENS[:, :3].clone()
    short[short == 0] = 1
    padded = torch.cat([short, torch.zeros(8, 3, dtype=short.dtype)], 1)
    if cross:  # the queries stay short; the keys and values are padded or not
        short, padded = [short, short.flip(0)], [short, padded.flip(0)]
    assert_padding_changes_nothing(lambda: _attention_model(causal, cross), short, padded, 4, 9)


def _rnn_model():
    ks.utils.set_random_seed(2)
    inp = ks.Input((None,), dtype="int64")
    h = layers.Embedding(12, 5, mask_zero=True)(inp)
    h = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(h)
    return ks.Model(inp, layers.Dense(1)(layers.GRU(2)(h)))


def test_padding_does_not_change_a_masked_recurrent_model():
    short = TOKENS[:, :3].clone()
    short[short == 0] = 1  # no padding within the first three steps
    padded = torch.cat([short, torch.zeros(8, 4, dtype=short.dtype)], 1)
    assert_padding_changes_nothing(_rnn_model, short, padded, 4, 7)


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
data = np.load(sys.argv[2])
out = {}
inp = keras.Input((6,), dtype="int64")
h = keras.layers.Dense(4, activation="relu")(keras.layers.Embedding(12, 5, mask_zero=True)(inp))
tagger = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
tagger.set_weights([data[f"t{j}"] for j in range(5)])
tagger.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
out["tag_eval"] = np.array(tagger.evaluate(data["x"], data["labels"], batch_size=8, verbose=0))
inp = keras.Input((6,), dtype="int64")
h = keras.layers.Dense(4, activation="tanh")(keras.layers.Embedding(12, 5, mask_zero=True)(inp))
pooled = keras.layers.GlobalAveragePooling1D()(h)
clf = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(pooled))
clf.set_weights([data[f"c{j}"] for j in range(5)])
out["clf_pred"] = clf.predict(data["x"], verbose=0)
a = keras.layers.Embedding(9, 2, mask_zero=True)(data["a"])
b = keras.layers.Embedding(9, 2, mask_zero=True)(data["b"])
for name, layer in (("add", keras.layers.Add()), ("cat", keras.layers.Concatenate()),
                    ("cat1", keras.layers.Concatenate(axis=1))):
    out["mask_" + name] = keras.ops.convert_to_numpy(layer([a, b])._keras_mask)
inp = keras.Input((None,), dtype="int64")
h = keras.layers.Embedding(12, 5, mask_zero=True)(inp)
h = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(h)
h = keras.layers.GRU(2)(h)
rnn = keras.Model(inp, keras.layers.Dense(1)(h))
rnn.set_weights([data[f"r{j}"] for j in range(len(rnn.get_weights()))])
out["rnn_pred"] = rnn.predict(data["x"], verbose=0)
for causal in (0, 1):
    keras.utils.set_random_seed(0)
    inp = keras.Input((None,), dtype="int64")
    e = keras.layers.Embedding(12, 4, mask_zero=True)(inp)
    a = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)(e, e, use_causal_mask=bool(causal))
    h = keras.layers.LayerNormalization()(keras.layers.Add()([e, a]))
    att = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(h)))
    att.set_weights([data[f"a{causal}_{j}"] for j in range(len(att.get_weights()))])
    out[f"att{causal}"] = att.predict(data["x"], verbose=0)
x = keras.ops.convert_to_tensor(data["masking_x"])
out["masking"] = keras.ops.convert_to_numpy(keras.layers.Masking(-1.0)(x)._keras_mask)
np.savez(sys.argv[3], **out)
"""


@pytest.mark.skipif(not keras_available(), reason="Keras 3 (torch backend) is not installed")
def test_masked_models_equal_keras_3(tmp_path):
    tagger = _tagger()
    tagger.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    labels = _tag_labels()
    ks.utils.set_random_seed(1)
    inp = ks.Input((6,), dtype="int64")
    h = layers.Dense(4, activation="tanh")(layers.Embedding(12, 5, mask_zero=True)(inp))
    clf = ks.Model(inp, layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(h)))
    masking_x = np.random.default_rng(6).normal(size=(3, 5, 2))
    masking_x[0, 2:] = -1.0
    masking_x[2, 1] = -1.0
    arrays = {"x": TOKENS.numpy(), "labels": labels.numpy(), "a": A.numpy(), "b": B.numpy(),
              "masking_x": masking_x.astype(np.float32)}
    arrays.update({f"t{j}": w.astype(np.float32) for j, w in enumerate(tagger.get_weights())})
    arrays.update({f"c{j}": w.astype(np.float32) for j, w in enumerate(clf.get_weights())})
    rnn = _rnn_model()
    arrays.update({f"r{j}": w.astype(np.float32) for j, w in enumerate(rnn.get_weights())})
    attention = [_attention_model(causal=bool(c)) for c in (0, 1)]
    for c, model in enumerate(attention):
        arrays.update({f"a{c}_{j}": w.astype(np.float32)
                       for j, w in enumerate(model.get_weights())})
    theirs = run_keras(KERAS_SCRIPT, [], arrays, tmp_path)
    for c, model in enumerate(attention):
        np.testing.assert_allclose(model.predict(TOKENS, verbose=0), theirs[f"att{c}"],
                                   rtol=1e-5, atol=1e-6, err_msg=f"use_causal_mask={bool(c)}")
    np.testing.assert_allclose(rnn.predict(TOKENS, verbose=0), theirs["rnn_pred"], rtol=1e-5,
                               atol=1e-6)
    ours_eval = tagger.evaluate(TOKENS, labels, batch_size=8, verbose=0)
    np.testing.assert_allclose(ours_eval, theirs["tag_eval"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict(TOKENS, verbose=0), theirs["clf_pred"], rtol=1e-5,
                               atol=1e-6)
    for name, merge in (("add", layers.Add()), ("cat", layers.Concatenate()),
                        ("cat1", layers.Concatenate(axis=1))):
        np.testing.assert_array_equal(_output_mask(_two_masked(merge), [A, B]).numpy(),
                                      theirs["mask_" + name])
    np.testing.assert_array_equal(layers.Masking(-1.0).compute_mask(
        torch.as_tensor(masking_x)).numpy(), theirs["masking"])


def test_the_text_example_masks_its_padding(capsys):
    from test_examples import load as load_example

    example = load_example("text_embedding")
    threads = torch.get_num_threads()
    try:
        model = example.text_model(reader="rnn", mask=True)
        assert model.layers[0].mask_zero and model._graph.plan().masked
        runs = example.main(["--seeds", "1", "--samples", "200", "--epochs", "2", "--rnn",
                             "--mask", "--no-baseline"])
    finally:
        torch.set_num_threads(threads)
    assert runs[0]["rnn_epochs"] <= 2 and 0.0 <= runs[0]["rnn"] <= 1.0
    assert "Bidirectional(LSTM(16))" in capsys.readouterr().out


@pytest.mark.parametrize("world", [2, 3])
def test_masked_training_on_real_ranks_equals_one_process(tmp_path, world):
    """Each rank weighs its share by the global batch's real positions (one all_reduce of the
    counts per step; an empty share takes part): weights, History and evaluate as in one process."""
    from test_distribution_primitives import launch_reports, single_process_reference

    reference = single_process_reference("mask_worker")
    for rank, report in enumerate(launch_reports("mask_worker.py", world, tmp_path, limit=180)):
        for name, ref in reference.items():
            got = report[name]
            for key, values in ref["history"].items():
                np.testing.assert_allclose(got["history"][key], values, rtol=1e-10, atol=1e-12,
                                           err_msg=f"rank {rank}, {name}, {key}")
            np.testing.assert_allclose(got["evaluate"], ref["evaluate"], rtol=1e-10, atol=1e-12)
            for w_got, w_ref in zip(got["weights"], ref["weights"]):
                np.testing.assert_allclose(w_got, w_ref, rtol=1e-10, atol=1e-12,
                                           err_msg=f"rank {rank}, {name} weights")


class _Shift(layers.Layer):
    """A custom layer with a traced call (x + a weight): the op inside drops the mask silently."""

    def build(self, input_shape):
        self.shift = self.add_weight(shape=tuple(input_shape[-1:]), initializer="ones")

    def call(self, x):
        return x + self.shift


class _MaskedShift(_Shift):
    supports_masking = True


def test_a_custom_layer_passes_the_mask_only_when_it_supports_masking():
    inp = ks.Input((6,), dtype="int64")
    emb = layers.Embedding(12, 4, mask_zero=True)(inp)
    passing = ks.Model(inp, _MaskedShift()(emb))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the op inside drops it without a word
        assert torch.equal(_output_mask(passing, [TOKENS]), TOKENS != 0)
    dropping = ks.Model(inp, _Shift()(emb))
    with pytest.warns(UserWarning, match="does not support masking"):
        assert _output_mask(dropping, [TOKENS]) is None
