"""MultiHeadAttention: its gradients (central differences; torch autograd over 20 training steps on
the same math, float64), Keras 3's outputs for the same weights (when Keras is installed), causal
masking, dropout, saving and the refusals."""

import math

import numpy as np
import pytest
import torch
from test_layers_conv_keras import keras_available, run_keras  # noqa: E402

import kerasette as ks
from kerasette import layers
from kerasette.testing import check_gradients


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("with_key", [False, True])
def test_gradients_match_central_differences(causal, with_key):
    layer = layers.MultiHeadAttention(2, 3, value_dim=2, output_shape=6,
                                      bias_initializer="random_normal")
    inputs = [randn(2, 4, 5, seed=1), randn(2, 3, 4, seed=2)] + (
        [randn(2, 3, 3, seed=3)] if with_key else [])
    layer.use_causal_mask = causal
    errors = check_gradients(layer, inputs)
    # The key bias adds q . b_k to every score of a query row: softmax ignores it, so its true
    # gradient is 0 and both estimates are rounding noise; it is checked by size below.
    key_bias = errors.pop(f"{layer.name}/key_bias")
    assert max(errors.values()) < 1e-7, errors
    layer.key_bias.grad.zero_()
    y, backward = layer.forward(inputs)
    backward(torch.ones_like(y))
    assert float(layer.key_bias.grad.abs().max()) < 1e-12 or key_bias < 1e-7


def attention_math(P, query, value, heads, key_dim, causal=False):
    """The layer's math in torch (its docstring), weights P in get_weights order."""
    wq, bq, wk, bk, wv, bv, wo, bo = P
    q = torch.einsum("abc,cde->abde", query, wq) + bq
    k = torch.einsum("abc,cde->abde", value, wk) + bk
    v = torch.einsum("abc,cde->abde", value, wv) + bv
    scores = torch.einsum("aecd,abcd->acbe", k, q / math.sqrt(key_dim))
    if causal:
        t, s = scores.shape[-2:]
        scores = scores.masked_fill(torch.ones(t, s, dtype=torch.bool).triu(1), -1e9)
    out = torch.einsum("acbe,aecd->abcd", torch.softmax(scores, -1), v)
    return torch.einsum("abcd,cde->abe", out, wo) + bo


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("causal", [False, True])
def test_a_transformer_block_trains_like_autograd(causal):
    x_in = ks.Input((5, 4))
    mha, head = layers.MultiHeadAttention(2, 3), layers.Dense(1)
    h = x_in + mha(x_in, x_in, use_causal_mask=causal)  # residual, as a transformer block
    model = ks.Model(x_in, head(layers.GlobalAveragePooling1D()(h)))
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    P = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    for step in range(20):
        x, y = randn(6, 5, 4, seed=step), randn(6, 1, seed=100 + step)
        got = model.train_on_batch(x, y)
        hh = x + attention_math(P[:8], x, x, 2, 3, causal)
        loss = ((hh.mean(1) @ P[8] + P[9] - y) ** 2).mean()
        grads = torch.autograd.grad(loss, P)
        with torch.no_grad():
            for p, g in zip(P, grads):
                p -= 0.05 * g
        assert abs(got - float(loss.detach())) < 1e-10
    for got, want in zip(model.get_weights(), P):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=0, atol=1e-10)


def test_causal_mask_hides_later_steps_and_dropout_only_trains():
    ks.utils.set_random_seed(0)
    x_in = ks.Input((4, 3))
    mha = layers.MultiHeadAttention(1, 2, dropout=0.5, seed=3)
    model = ks.Model(x_in, mha(x_in, x_in, use_causal_mask=True))
    x = torch.randn(2, 4, 3)
    changed = x.clone()
    changed[:, 3] += 5.0  # the last step: only the last output may move
    a, b = model(x), model(changed)
    torch.testing.assert_close(a[:, :3], b[:, :3])
    assert not torch.allclose(a[:, 3], b[:, 3])
    torch.testing.assert_close(model(x), model(x))  # inference: no dropout
    assert not torch.allclose(model(x, training=True), model(x, training=True))
    with pytest.raises(ValueError, match="use_causal_mask"):
        mha(x_in, x_in)  # traced once, with the mask


def test_config_and_saving_keep_the_causal_mask(tmp_path):
    x_in = ks.Input((4, 3))
    model = ks.Model(x_in, layers.MultiHeadAttention(2, 2, name="mha")(x_in, x_in,
                                                                        use_causal_mask=True))
    model.save(tmp_path / "m.keras")
    again = ks.models.load_model(tmp_path / "m.keras")
    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(again(x), model(x))
    assert again.get_layer("mha").use_causal_mask is True


@pytest.mark.parametrize("make, match", [
    (lambda: layers.MultiHeadAttention(0, 2), "num_heads"),
    (lambda: layers.MultiHeadAttention(2, 2, dropout=1.0), "dropout"),
    (lambda: layers.MultiHeadAttention(2, 2, attention_axes=(1,)), "attention_axes"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unsupported_call_arguments_say_so():
    x = ks.Input((4, 3))
    mha = layers.MultiHeadAttention(2, 2)
    with pytest.raises(ValueError, match="attention_mask"):
        mha(x, x, attention_mask=ks.ops.ones((4, 4)))
    mha(x, x)
    with pytest.raises(ValueError, match="return_attention_scores.*traced once"):
        mha(x, x, return_attention_scores=True)  # fixed by the first call
    with pytest.raises(ValueError, match="value"):
        mha(x)


# ----- Keras 3 itself --------------------------------------------------------------------------------
KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
cases = json.loads(sys.argv[1])
data = np.load(sys.argv[2])
out = {}
for i, (config, causal, with_key) in enumerate(cases):
    layer = keras.layers.MultiHeadAttention(**config)
    q, v = data["q"], data["v"]
    args = [q, v] + ([data["k"]] if with_key else [])
    layer(*args, use_causal_mask=causal)
    layer.set_weights([data[f"w{i}_{j}"] for j in range(len(layer.get_weights()))])
    out[f"y{i}"] = keras.ops.convert_to_numpy(layer(*args, use_causal_mask=causal))
    _, scores = layer(*args, use_causal_mask=causal, return_attention_scores=True)
    out[f"s{i}"] = keras.ops.convert_to_numpy(scores)
np.savez(sys.argv[3], **out)
"""

KERAS_CASES = [(dict(num_heads=2, key_dim=3), False, False),
               (dict(num_heads=2, key_dim=3), True, False),
               (dict(num_heads=3, key_dim=2, value_dim=4, output_shape=5), False, True)]


@pytest.mark.skipif(not keras_available(), reason="Keras 3 (torch backend) is not installed")
def test_outputs_equal_keras_3(tmp_path):
    g = torch.Generator().manual_seed(0)
    q, v, k = torch.randn(2, 5, 4, generator=g), torch.randn(2, 5, 4, generator=g), \
        torch.randn(2, 5, 6, generator=g)
    arrays, ours = {"q": q.numpy(), "v": v.numpy(), "k": k.numpy()}, []
    for i, (config, causal, with_key) in enumerate(KERAS_CASES):
        layer = layers.MultiHeadAttention(**config)
        args = [q, v] + ([k] if with_key else [])
        layer(*args, use_causal_mask=causal)
        weights = [torch.randn(w.shape, generator=g) * 0.5 for w in layer.weights]
        layer.set_weights(weights)
        for j, w in enumerate(weights):
            arrays[f"w{i}_{j}"] = w.numpy()
        scored = layers.MultiHeadAttention(**config)  # the same weights, scores returned too
        scored(*args, use_causal_mask=causal, return_attention_scores=True)
        scored.set_weights(weights)
        y, scores = scored(*args, use_causal_mask=causal, return_attention_scores=True)
        ours.append((layer(*args, use_causal_mask=causal).numpy(), y.numpy(), scores.numpy()))
    theirs = run_keras(KERAS_SCRIPT, KERAS_CASES, arrays, tmp_path)
    for i, case in enumerate(KERAS_CASES):
        for mine in ours[i][:2]:
            np.testing.assert_allclose(mine, theirs[f"y{i}"], rtol=1e-5, atol=1e-5,
                                       err_msg=str(case))
        assert ours[i][2].shape == theirs[f"s{i}"].shape  # (B, H, T, S)
        np.testing.assert_allclose(ours[i][2], theirs[f"s{i}"], rtol=1e-5, atol=1e-6,
                                   err_msg=str(case))


@pytest.mark.usefixtures("float64")
def test_returned_scores_train_and_survive_saving(tmp_path):
    """Scores as a second output: a loss on them trains through the softmax, and the layer's
    config keeps return_attention_scores."""
    inp = ks.Input((4, 3))
    mha = layers.MultiHeadAttention(2, 2, name="mha")
    out, scores = mha(inp, inp, return_attention_scores=True)
    assert scores.shape == (None, 2, 4, 4)
    model = ks.Model(inp, [out, ks.ops.mean(scores, axis=1)])
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    x = torch.randn(3, 4, 3, dtype=torch.float64)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, [torch.zeros(3, 4, 3), torch.full((3, 4, 4), 0.25)], verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.save(tmp_path / "m.keras")
    again = ks.models.load_model(tmp_path / "m.keras")
    assert again.get_layer("mha").return_attention_scores is True
    for a, b in zip(again.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
