"""`RNN(cell)` with a cell of your own (kerasette/layers/rnn_custom.py): the cell's traced step,
run over time, trains as torch autograd on the same math (float64, 20 steps, 1e-10), follows Keras
masks, and equals Keras 3 for the same cell and weights."""

import numpy as np
import pytest
import torch
from padding_check import assert_padding_changes_nothing  # noqa: E402
from test_layers_conv_keras import keras_available, run_keras  # noqa: E402 (tests/ on sys.path)

import kerasette as ks
from kerasette import layers, ops

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


class MinimalRNNCell(layers.Layer):
    """Keras's RNN guide's cell: o = x K + h U, the new state is o."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="orthogonal", name="recurrent_kernel")

    def call(self, inputs, states):
        output = ops.tanh(ops.matmul(inputs, self.kernel) +
                          ops.matmul(states[0], self.recurrent_kernel))
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class TwoStateCell(layers.Layer):
    """Two states and a Dense inside: h' = tanh(D([x, h]) + c), c' = 0.5 c + h'; output h'."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, [units, units]
        self.dense = layers.Dense(units)

    def call(self, inputs, states):
        h, c = states
        new_h = ops.tanh(self.dense(ops.concatenate([inputs, h], axis=-1)) + c)
        return new_h, [new_h, 0.5 * c + new_h]


def _x(n=4, steps=6, features=3, seed=0):
    return torch.randn(n, steps, features, generator=torch.Generator().manual_seed(seed),
                       dtype=torch.float64)


def _oracle_minimal(params, x, mask=None, go_backwards=False, sequences=False):
    K, U = params[:2]
    h = torch.zeros(x.shape[0], K.shape[1], dtype=x.dtype)
    out, outs = torch.zeros_like(h), []
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in order:
        new = torch.tanh(x[:, t] @ K + h @ U)
        if mask is None:
            h = out = new
        else:
            keep = mask[:, t, None]
            h, out = torch.where(keep, new, h), torch.where(keep, new, out)
        outs.append(out)
    return torch.stack(outs, 1) if sequences else out


@pytest.mark.parametrize("go_backwards, sequences", [(False, False), (True, False), (False, True)])
def test_minimal_cell_trains_as_autograd(go_backwards, sequences):
    ks.utils.set_random_seed(0)
    inp = ks.Input((6, 3))
    h = layers.RNN(MinimalRNNCell(4), go_backwards=go_backwards, return_sequences=sequences)(inp)
    if sequences:
        h = layers.GlobalAveragePooling1D()(h)
    model = ks.Model(inp, layers.Dense(2)(h))
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=0.1), loss="mse")
    x, y = _x(8), torch.randn(8, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    params = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]

    def loss(xb, yb):
        r = _oracle_minimal(params, xb, go_backwards=go_backwards, sequences=sequences)
        r = r.mean(1) if sequences else r
        return ((r @ params[2] + params[3] - yb) ** 2).mean()

    model.fit(x, y, batch_size=2, epochs=5, shuffle=False, verbose=0)  # 20 steps
    for _ in range(5):
        for s in range(4):
            rows = slice(2 * s, 2 * s + 2)
            loss(x[rows], y[rows]).backward()
            with torch.no_grad():
                for p in params:
                    p -= 0.1 * p.grad
                    p.grad = None
    for ours, theirs in zip(model.get_weights(), params):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-10)


def test_masked_steps_keep_the_state_and_match_autograd():
    layer = layers.RNN(MinimalRNNCell(3), return_sequences=True)
    x = _x()
    layer.build(x.shape)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 0, 1, 1, 0, 1], [0, 0, 1, 1, 1, 1],
                         [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    y, backward = layer.forward(x, True, mask=mask)
    xs = x.clone().requires_grad_(True)
    params = [torch.tensor(w, requires_grad=True) for w in layer.get_weights()]
    ref = _oracle_minimal(params, xs, mask, sequences=True)
    np.testing.assert_allclose(y, ref.detach(), rtol=0, atol=1e-12)
    dy = torch.randn(y.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    dx = backward(dy)
    expected = torch.autograd.grad(ref, [xs, *params], dy)
    np.testing.assert_allclose(dx, expected[0], rtol=0, atol=1e-10)
    for w, g in zip(layer.weights, expected[1:]):
        np.testing.assert_allclose(w.grad, g, rtol=0, atol=1e-10)
    assert torch.equal(layer.compute_mask(x, mask), mask)


def test_padding_does_not_change_a_custom_cell_model():
    def model():
        ks.utils.set_random_seed(0)
        inp = ks.Input((None,), dtype="int64")
        h = layers.Embedding(9, 3, mask_zero=True)(inp)
        return ks.Model(inp, layers.Dense(1)(layers.RNN(TwoStateCell(4))(h)))
    short = torch.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 1], [2, 2, 2]])
    padded = torch.cat([short, torch.zeros(4, 2, dtype=short.dtype)], 1)
    assert_padding_changes_nothing(model, short, padded, 2, 3)


def test_two_states_return_state_and_the_inner_layer_weights():
    rnn = layers.RNN(TwoStateCell(3), return_state=True, return_sequences=True)
    inp = ks.Input((5, 2))
    seq, h, c = rnn(inp)
    assert seq.shape == (None, 5, 3) and h.shape == c.shape == (None, 3)
    assert [w.name.split("/")[-1] for w in rnn.weights] == ["kernel", "bias"]  # the cell's Dense
    model = ks.Model(inp, [seq, h, c])
    out = model.predict(_x(2, 5, 2), verbose=0)
    np.testing.assert_allclose(out[0][:, -1], out[1], rtol=0, atol=1e-15)


def test_bad_cells_are_refused():
    with pytest.raises(TypeError, match="StackedRNNCells"):
        layers.RNN([MinimalRNNCell(2), MinimalRNNCell(2)])
    with pytest.raises(TypeError, match="state_size"):
        layers.RNN(layers.Dense(2))
    with pytest.raises(ValueError, match="stateful"):
        layers.RNN(MinimalRNNCell(2), stateful=True)

    class NoStates(MinimalRNNCell):
        def call(self, inputs, states):
            return ops.matmul(inputs, self.kernel)

    with pytest.raises(TypeError, match="must return \\(output, new_states\\)"):
        layers.RNN(NoStates(2))(ks.Input((4, 3)))


def test_save_and_load_a_custom_cell_model(tmp_path):
    inp = ks.Input((6, 3))
    model = ks.Model(inp, layers.RNN(MinimalRNNCell(4))(inp))
    model.save(tmp_path / "cell.keras")
    loaded = ks.models.load_model(tmp_path / "cell.keras",
                                  custom_objects={"MinimalRNNCell": MinimalRNNCell})
    np.testing.assert_allclose(loaded.predict(_x(), verbose=0), model.predict(_x(), verbose=0),
                               rtol=0, atol=1e-12)


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
from keras import ops
data = np.load(sys.argv[2])

class MinimalRNNCell(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="rk")
    def call(self, inputs, states):
        output = ops.tanh(ops.matmul(inputs, self.kernel) +
                          ops.matmul(states[0], self.recurrent_kernel))
        return output, [output]

out = {}
for go_backwards in (0, 1):
    layer = keras.layers.RNN(MinimalRNNCell(4), return_sequences=True,
                             go_backwards=bool(go_backwards))
    layer.build(data["x"].shape)
    layer.set_weights([data["k"], data["u"]])
    out[f"y{go_backwards}"] = keras.ops.convert_to_numpy(layer(data["x"], mask=data["mask"]))
np.savez(sys.argv[3], **out)
"""


@pytest.mark.skipif(not keras_available(), reason="Keras 3 (torch backend) is not installed")
def test_custom_cell_equals_keras_3(tmp_path):
    x = _x().float()
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 0, 1, 1, 0, 1], [0, 0, 1, 1, 1, 1],
                         [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    ks.config.set_floatx("float32")
    g = torch.Generator().manual_seed(4)
    k, u = torch.randn(3, 4, generator=g) * 0.5, torch.randn(4, 4, generator=g) * 0.5
    theirs = run_keras(KERAS_SCRIPT, [], {"x": x.numpy(), "mask": mask.numpy(), "k": k.numpy(),
                                          "u": u.numpy()}, tmp_path)
    for go_backwards in (0, 1):
        layer = layers.RNN(MinimalRNNCell(4), return_sequences=True,
                           go_backwards=bool(go_backwards))
        layer.build(x.shape)
        layer.set_weights([k, u])
        y, _ = layer.forward(x, False, mask=mask)
        np.testing.assert_allclose(y, theirs[f"y{go_backwards}"], rtol=1e-5, atol=1e-6)
