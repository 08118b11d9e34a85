"""Keras masks in SimpleRNN, LSTM, GRU, Bidirectional and TimeDistributed: the outputs of Keras 3
itself for the same weights and masks (when Keras is installed), the backward against torch
autograd on the same masked loop and against central differences (float64), the unmasked path
unchanged, and the output masks."""

import importlib.util

import numpy as np
import pytest
import torch
from test_layers_conv_keras import run_keras  # noqa: E402  (tests/ is on sys.path)

from kerasette import layers
from kerasette.testing import check_gradients

KINDS = ["SimpleRNN", "LSTM", "GRU"]

# rows: real, right-padded, holes, fully masked, left-padded
MASK = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 1, 1, 0, 1],
                     [0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1]], dtype=torch.bool)
RIGHT_PADDED = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0],
                             [1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def state_count(kind):
    return 2 if kind == "LSTM" else 1


# ----- Keras 3 itself --------------------------------------------------------------------------------
# (layer, its config, Bidirectional's merge_mode or "" for none, mask, with initial states)
KERAS_CASES = [case for kind in KINDS for case in [
    (kind, dict(units=3, return_sequences=True), "", "mixed", False),
    (kind, dict(units=3), "", "right", False),
    (kind, dict(units=3), "", "mixed", False),
    (kind, dict(units=3, return_sequences=True, go_backwards=True), "", "mixed", False),
    (kind, dict(units=3, return_sequences=True, return_state=True), "", "mixed", False),
    (kind, dict(units=3, return_sequences=True, go_backwards=True, zero_output_for_mask=True), "",
     "mixed", False),
    (kind, dict(units=3, return_state=True, zero_output_for_mask=True), "", "mixed", False),
    (kind, dict(units=3, return_sequences=True, return_state=True), "", "mixed", True),
    (kind, dict(units=3, go_backwards=True, return_state=True), "", "mixed", True),
    (kind, dict(units=3, return_sequences=True), "concat", "mixed", False),
    (kind, dict(units=3, return_state=True), None, "mixed", False),
    (kind, dict(units=3, return_sequences=True), None, "right", False),
    (kind, dict(units=2), "concat", "mixed", False)]]

KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
cases = json.loads(sys.argv[1])
data = np.load(sys.argv[2])
out = {}
for i, (kind, config, merge_mode, mask, initial) in enumerate(cases):
    layer = getattr(keras.layers, kind)(**config)
    if merge_mode != "":
        layer = keras.layers.Bidirectional(layer, merge_mode=merge_mode)
    x = data["x"]
    layer.build(x.shape)
    layer.set_weights([data[f"w{i}_{j}"] for j in range(len(layer.get_weights()))])
    kwargs = {"mask": data[mask] != 0}
    if initial:
        kwargs["initial_state"] = [data[f"s{k}"] for k in range(2 if kind == "LSTM" else 1)]
    y = layer(x, **kwargs)
    for k, t in enumerate(y if isinstance(y, (list, tuple)) else [y]):
        out[f"y{i}_{k}"] = keras.ops.convert_to_numpy(t)
np.savez(sys.argv[3], **out)
"""


def make(kind, config, merge_mode=""):
    layer = getattr(layers, kind)(**config)
    return layer if merge_mode == "" else layers.Bidirectional(layer, merge_mode=merge_mode)


# (find_spec, not keras_available(): that probe imports Keras in a subprocess, seconds per module)
@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="Keras 3 is not installed")
def test_masked_outputs_equal_keras_3(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 6, 4, generator=g)
    states = [torch.randn(5, 3, generator=g) for _ in range(2)]
    masks = {"mixed": MASK, "right": RIGHT_PADDED}
    arrays = {"x": x.numpy(), "mixed": MASK.numpy(), "right": RIGHT_PADDED.numpy(),
              "s0": states[0].numpy(), "s1": states[1].numpy()}
    ours = []
    for i, (kind, config, merge_mode, mask, initial) in enumerate(KERAS_CASES):
        layer = make(kind, config, merge_mode)
        layer.build((None, 6, 4))
        weights = [torch.randn(w.shape, generator=g) * 0.5 for w in layer.weights]
        layer.set_weights(weights)
        arrays.update({f"w{i}_{j}": w.numpy() for j, w in enumerate(weights)})
        inputs = [x, *states[:state_count(kind)]] if initial else x
        m = [masks[mask]] + [None] * state_count(kind) if initial else masks[mask]
        y, _ = layer.forward(inputs, False, mask=m)
        ours.append([t.numpy() for t in (y if isinstance(y, list) else [y])])
    theirs = run_keras(KERAS_SCRIPT, KERAS_CASES, arrays, tmp_path)
    for i, case in enumerate(KERAS_CASES):
        assert len(ours[i]) == sum(key.startswith(f"y{i}_") for key in theirs.files), case
        for k, mine in enumerate(ours[i]):
            np.testing.assert_allclose(mine, theirs[f"y{i}_{k}"], rtol=1e-5, atol=1e-5,
                                       err_msg=f"{case} output {k}")


# ----- the masked loop in torch, differentiated by autograd -------------------------------------------
def cell(kind, x_t, h, c, W, U, b, keep_h):
    """One step of the gate equations (kerasette's docstrings): the new (h, c)."""
    u = U.shape[0]
    hu = (h if keep_h is None else h * keep_h) @ U
    if kind == "SimpleRNN":
        return torch.tanh(x_t @ W + b + hu), c
    if kind == "LSTM":
        g = x_t @ W + b + hu
        i, f, cc, o = (g[:, k * u:(k + 1) * u] for k in range(4))
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cc)
        return torch.sigmoid(o) * torch.tanh(c), c
    xz, m = x_t @ W + b[0], hu + b[1]  # GRU, reset_after
    z = torch.sigmoid(xz[:, :u] + m[:, :u])
    r = torch.sigmoid(xz[:, u:2 * u] + m[:, u:2 * u])
    return z * h + (1 - z) * torch.tanh(xz[:, 2 * u:] + r * m[:, 2 * u:]), c


def reference(kind, x, W, U, b, mask, states=None, keep_x=None, keep_h=None, go_backwards=False,
              return_sequences=False, zero_output_for_mask=False):
    """Keras's masked loop (backend.rnn, unroll=False) written plainly: (output, h, c)."""
    n, steps, _ = x.shape
    zeros = torch.zeros(n, U.shape[0], dtype=x.dtype)
    h, c = (states if kind == "LSTM" else (states[0], zeros)) if states else (zeros, zeros)
    x = x if keep_x is None else x * keep_x[:, None, :]
    out, outs = zeros, []
    for t in (range(steps - 1, -1, -1) if go_backwards else range(steps)):
        real = mask[:, t, None]
        new_h, new_c = cell(kind, x[:, t], h, c, W, U, b, keep_h)
        h, c = torch.where(real, new_h, h), torch.where(real, new_c, c)
        out = torch.where(real, new_h, out)
        outs.append(torch.where(real, out, 0.0) if zero_output_for_mask else out)
    return (torch.stack(outs, 1) if return_sequences else outs[-1]), h, c


BACKWARD_CONFIGS = [dict(), dict(return_sequences=True), dict(go_backwards=True, return_state=True),
                    dict(return_sequences=True, go_backwards=True, zero_output_for_mask=True),
                    dict(return_state=True, zero_output_for_mask=True)]


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("config", BACKWARD_CONFIGS, ids=lambda c: ",".join(c) or "last")
@pytest.mark.parametrize("initial", [False, True], ids=["zeros", "initial_state"])
@pytest.mark.parametrize("dropout", [False, True], ids=["", "dropout"])
def test_masked_backward_matches_autograd(kind, config, initial, dropout):
    n, units = 5, 3
    rates = dict(dropout=0.3, recurrent_dropout=0.4, seed=7) if dropout else {}
    layer = getattr(layers, kind)(units, bias_initializer="random_normal", **config, **rates)
    x = randn(n, 6, 4, seed=1)
    states = [randn(n, units, seed=2 + k) for k in range(state_count(kind))] if initial else []
    layer.build((None, 6, 4))
    y, back = layer.forward([x, *states] if initial else x, dropout, mask=MASK)
    ys = y if isinstance(y, list) else [y]
    dys = [randn(*t.shape, seed=10 + k) for k, t in enumerate(ys)]
    grads = back(dys if isinstance(y, list) else dys[0])
    dx, d_states = (grads[0], grads[1:]) if initial else (grads, ())

    keep_x = keep_h = None
    if dropout:  # the layer's stream: the input mask, then the state's
        masks = torch.Generator().manual_seed(7)
        keep_x = (torch.rand(n, 4, generator=masks) >= 0.3).double() / 0.7
        keep_h = (torch.rand(n, units, generator=masks) >= 0.4).double() / 0.6
    leaves = [t.clone().requires_grad_() for t in (x, *(w.value for w in layer.weights), *states)]
    x_, W, U, b = leaves[:4]
    out, h, c = reference(kind, x_, W, U, b, MASK, leaves[4:], keep_x, keep_h,
                          config.get("go_backwards", False), config.get("return_sequences", False),
                          config.get("zero_output_for_mask", False))
    want = [out, h, c][:len(ys)] if config.get("return_state") else [out]
    for mine, theirs in zip(ys, want):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-12)
    loss = sum((t * d).sum() for t, d in zip(want, dys))
    expected = torch.autograd.grad(loss, leaves)
    got = [dx, *(w.grad for w in layer.weights), *d_states]
    for name, mine, theirs in zip(["x", "kernel", "recurrent_kernel", "bias", "h0", "c0"], got,
                                  expected):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-10, msg=name)


def masked(layer, mask):
    """`layer` whose forward always gets `mask` (for check_gradients, which passes none)."""
    base = type(layer)
    layer.forward = lambda x, training=False: base.forward(layer, x, training, mask=mask)
    return layer


TINY_MASK = torch.tensor([[1, 0, 1], [0, 0, 1]], dtype=torch.bool)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("kind", KINDS)
def test_masked_backward_matches_central_differences(kind):
    layer = masked(getattr(layers, kind)(2, bias_initializer="random_normal",
                                         return_sequences=True, return_state=True,
                                         go_backwards=True), [TINY_MASK, None, None])
    states = [randn(2, 2, seed=5 + k) for k in range(state_count(kind))]
    errors = check_gradients(layer, [randn(2, 3, 2, seed=4), *states])
    assert len(errors) == 4 + len(states) and max(errors.values()) < 1e-7, errors


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("merge_mode", ["concat", "mul", None])
@pytest.mark.parametrize("config", [dict(), dict(return_sequences=True, return_state=True)],
                         ids=["last", "sequences,states"])
def test_masked_bidirectional_matches_central_differences(merge_mode, config):
    layer = masked(layers.Bidirectional(layers.LSTM(2, bias_initializer="random_normal",
                                                    **config), merge_mode=merge_mode), TINY_MASK)
    errors = check_gradients(layer, randn(2, 3, 2, seed=4))
    assert len(errors) == 7 and max(errors.values()) < 1e-7, errors


# ----- the unmasked path, unchanged ---------------------------------------------------------------------
def run(layer, inputs, training, dy_seed=20, **kwargs):
    """Outputs, input gradients and weight gradients of one forward and backward."""
    for w in layer.weights:
        w.grad.zero_()
    y, back = layer.forward(inputs, training, **kwargs)
    ys = y if isinstance(y, list) else [y]
    dys = [randn(*t.shape, seed=dy_seed + k, dtype=t.dtype) for k, t in enumerate(ys)]
    grads = back(dys if isinstance(y, list) else dys[0])
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    return ys + grads + [w.grad.clone() for w in layer.weights]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("training", [False, True])
def test_no_mask_and_an_all_true_mask_give_the_plain_loop_bit_for_bit(kind, training):
    config = dict(return_sequences=True, return_state=True, go_backwards=True, dropout=0.2,
                  recurrent_dropout=0.3, bias_initializer="random_normal")
    results = []
    for mask in ("absent", None, "all true"):
        layer = getattr(layers, kind)(3, seed=3, **config)
        layer.build((None, 5, 4))
        torch.manual_seed(0)
        layer.set_weights([torch.randn(w.shape) for w in layer.weights])
        x = randn(2, 5, 4, seed=1, dtype=torch.float32)
        states = [randn(2, 3, seed=2 + k, dtype=torch.float32) for k in range(state_count(kind))]
        kwargs = {} if mask == "absent" else {"mask": None} if mask is None else {
            "mask": [torch.ones(2, 5, dtype=torch.bool)] + [None] * len(states)}
        results.append(run(layer, [x, *states], training, **kwargs))
    for other in results[1:]:
        assert len(other) == len(results[0])
        assert all(torch.equal(a, b) for a, b in zip(results[0], other))


def test_a_padded_step_keeps_the_state_and_a_leading_pad_outputs_zeros():
    layer = layers.GRU(2, return_sequences=True, return_state=True)
    layer.build((None, 3, 4))
    h0 = torch.full((1, 2), 0.5)
    mask = torch.tensor([[0, 1, 0]], dtype=torch.bool)
    (seq, h), _ = layer.forward([torch.randn(1, 3, 4), h0], False, mask=[mask, None])
    assert torch.equal(seq[:, 0], torch.zeros(1, 2))  # output_{-1} = 0, not h0
    assert torch.equal(seq[:, 2], seq[:, 1]) and torch.equal(h, seq[:, 1])


# ----- masks out, configuration, refusals ---------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_compute_mask_follows_keras(kind):
    m = MASK
    cls = getattr(layers, kind)
    assert cls(2, return_sequences=True).compute_mask(None, m) is m
    assert cls(2).compute_mask(None, m) is None
    assert cls(2).compute_mask(None, None) is None
    nones = [None] * state_count(kind)
    assert cls(2, return_sequences=True, return_state=True).compute_mask(None, m) == [m, *nones]
    assert cls(2, return_state=True).compute_mask(None, [m, *nones]) == [None, *nones]
    assert cls(2, return_sequences=True).compute_mask(None, [m, *nones]) is m
    assert cls(2).uses_mask and cls(2).supports_masking


def test_bidirectional_compute_mask_follows_keras():
    m = MASK

    def bi(merge_mode="concat", **config):
        return layers.Bidirectional(layers.LSTM(2, **config), merge_mode=merge_mode)
    assert bi(return_sequences=True).compute_mask(None, m) is m
    assert bi().compute_mask(None, m) is None
    assert bi(None, return_sequences=True).compute_mask(None, m) == [m, m]
    assert bi(None).compute_mask(None, m) == [None, None]
    assert bi(return_sequences=True, return_state=True).compute_mask(None, [m]) == [m] + [None] * 4
    assert bi(None, return_state=True).compute_mask(None, m) == [None] * 6
    inner = bi(return_sequences=True)
    assert inner.forward_layer.zero_output_for_mask and inner.backward_layer.zero_output_for_mask
    assert not bi().forward_layer.zero_output_for_mask  # as Keras: = return_sequences


def test_time_distributed_passes_a_mask_through_and_refuses_it_to_a_masking_layer():
    x = torch.randn(5, 6, 4)
    td = layers.TimeDistributed(layers.Dense(3))
    td.build((None, 6, 4))
    y, _, mask = td.forward_masked(x, False, MASK)
    assert y.shape == (5, 6, 3) and mask is MASK and td.supports_masking and not td.uses_mask
    rnn = layers.TimeDistributed(layers.LSTM(2))
    rnn.build((None, 6, 3, 4))
    assert rnn.uses_mask
    with pytest.raises(ValueError, match="Invalid mask: TimeDistributed .* does not support"):
        rnn.forward_masked(torch.randn(5, 6, 3, 4), False, MASK)
    y, _, mask = rnn.forward_masked(torch.randn(5, 6, 3, 4), False, None)
    assert y.shape == (5, 6, 2) and mask is None


def test_zero_output_for_mask_is_checked_configured_and_passed_by_rnn():
    with pytest.raises(TypeError, match="Invalid zero_output_for_mask: expected True or False"):
        layers.LSTM(2, zero_output_for_mask=1)
    layer = layers.GRU(2, zero_output_for_mask=True)
    again = layers.deserialize(layers.serialize(layer))
    assert layer.get_config()["zero_output_for_mask"] and again.zero_output_for_mask
    assert not layers.GRU(2).get_config()["zero_output_for_mask"]
    assert layers.RNN(layers.LSTMCell(2), zero_output_for_mask=True).zero_output_for_mask


def test_a_mask_of_the_wrong_shape_or_type_is_refused():
    layer = layers.SimpleRNN(2)
    layer.build((None, 6, 4))
    with pytest.raises(ValueError, match=r"Invalid mask: .* \(batch, steps\) = \(5, 6\), "
                                         r"received \(5, 5\)"):
        layer.forward(torch.randn(5, 6, 4), mask=MASK[:, :5])
    with pytest.raises(TypeError, match="Invalid mask: .* received ndarray"):
        layer.forward(torch.randn(5, 6, 4), mask=MASK.numpy())
    y, _ = layer.forward(torch.randn(5, 6, 4), mask=MASK.int())  # cast to bool, as Keras
    assert y.shape == (5, 2)
