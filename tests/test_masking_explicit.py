"""Keras's explicit mask argument, `layer(x, mask=m)` (kerasette/layers/masking.py): on symbolic
tensors (a mask computed with ks.ops from the input) and on data, the same as the mask a
mask-making layer would give."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette import layers, ops

TOKENS = torch.tensor([[3, 5, 7, 0, 0, 0], [1, 0, 4, 4, 0, 0], [9, 9, 9, 9, 9, 2]])


def _pair():
    """The same LSTM classifier with the mask from Embedding(mask_zero=True) and given as mask=."""
    ks.utils.set_random_seed(0)
    inp = ks.Input((6,), dtype="int64")
    made = ks.Model(inp, layers.LSTM(3)(layers.Embedding(12, 4, mask_zero=True)(inp)))
    inp = ks.Input((6,), dtype="int64")
    given = layers.LSTM(3)(layers.Embedding(12, 4)(inp), mask=ops.not_equal(inp, 0))
    explicit = ks.Model(inp, given)
    explicit.set_weights(made.get_weights())
    return made, explicit


def test_a_symbolic_mask_argument_equals_the_made_mask():
    made, explicit = _pair()
    np.testing.assert_allclose(explicit.predict(TOKENS, verbose=0),
                               made.predict(TOKENS, verbose=0), rtol=0, atol=1e-6)
    y = torch.zeros(3, 3)
    for m in (made, explicit):
        m.compile(optimizer="sgd", loss="mse")
        m.fit(TOKENS, y, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(made.get_weights(), explicit.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_a_mask_argument_on_data():
    x = torch.randn(3, 6, 2, generator=torch.Generator().manual_seed(0))
    mask = TOKENS != 0
    pool = layers.GlobalAveragePooling1D()
    expected = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    np.testing.assert_allclose(pool(x, mask=mask), expected, rtol=1e-6, atol=1e-6)
    lstm = layers.LSTM(2)
    y = lstm(x, mask=mask)
    np.testing.assert_allclose(y[2:3], lstm(x[2:3]), rtol=0, atol=1e-6)  # a full row: no change
    short = layers.LSTM(2)  # the same weights on the first row's three real steps alone
    short.build((None, 3, 2))
    short.set_weights(lstm.get_weights())
    np.testing.assert_allclose(short(x[:1, :3]), y[:1], rtol=0, atol=1e-6)  # padding skipped
    with pytest.raises(ValueError, match="Invalid mask"):
        pool(x, mask=mask[:, :4])


def test_a_mask_with_initial_states_and_mixed_kinds():
    inp, h0 = ks.Input((6, 2)), ks.Input((3,))
    m = ks.Input((6,), dtype="bool")
    out = layers.GRU(3)(inp, initial_state=[h0], mask=m)
    model = ks.Model([inp, h0, m], out)
    x = torch.randn(3, 6, 2, generator=torch.Generator().manual_seed(1))
    start = torch.randn(3, 3, generator=torch.Generator().manual_seed(2))
    full = model.predict([x, start, torch.ones(3, 6, dtype=torch.bool)], verbose=0)
    cut = model.predict([x, start, TOKENS != 0], verbose=0)
    assert not np.allclose(full[:2], cut[:2]) and np.allclose(full[2], cut[2], atol=1e-6)
    with pytest.raises(TypeError, match="both as symbolic tensors"):
        layers.LSTM(2)(inp, mask=TOKENS != 0)
