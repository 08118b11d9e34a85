"""The backward pass stops where no weight needs it: at the first trainable layer, which skips dx."""

import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")


class Spy(ks.layers.Layer):
    """Identity layer that counts its backward calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x, training=False):
        def backward(dy):
            self.calls += 1
            return dy
        return x, backward


def test_dense_backward_without_dx_gives_the_same_weight_gradients():
    layer = Dense(3, activation="tanh")
    x = torch.randn(5, 4, dtype=torch.float64)
    layer(x)
    dy = torch.randn(5, 3, dtype=torch.float64)
    _, back = layer.forward(x)
    dx = back(dy)
    grads = [w.grad.clone() for w in layer.weights]
    for w in layer.weights:
        w.grad.zero_()
    _, back = layer.forward(x)
    assert back(dy, need_dx=False) is None
    for w, g in zip(layer.weights, grads):
        torch.testing.assert_close(w.grad, g)
    assert dx.shape == x.shape


def test_layers_before_the_first_trainable_one_get_no_backward_call():
    spy = Spy()
    frozen = Dense(4, trainable=False)
    spy_after = Spy()
    model = ks.Sequential([ks.Input((3,)), spy, frozen, spy_after, Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    before = frozen.get_weights()
    model.fit(torch.randn(8, 3), torch.randn(8, 2), batch_size=4, epochs=1, verbose=0)
    assert spy.calls == 0 and spy_after.calls == 0  # the first trainable layer is the last Dense
    assert all((a == b).all() for a, b in zip(before, frozen.get_weights()))


def test_a_layer_in_the_middle_still_gets_its_backward():
    spy = Spy()
    model = ks.Sequential([ks.Input((3,)), Dense(4), spy, Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(torch.randn(8, 3), torch.randn(8, 2), batch_size=4, epochs=1, verbose=0)
    assert spy.calls == 2


class Scale(ks.layers.Layer):
    """A custom layer with a weight whose backward takes only dy (no need_dx support)."""

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), "ones")

    def forward(self, x, training=False):
        w = self.w.value

        def backward(dy):
            self.w.grad.add_((dy * x).sum(0))
            return dy * w
        return x * w, backward


def test_a_custom_first_layer_without_need_dx_is_called_plainly():
    layer = Scale()
    model = ks.Sequential([ks.Input((3,)), layer, Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    before = layer.get_weights()[0].copy()
    model.fit(torch.randn(8, 3), torch.randn(8, 2), batch_size=4, epochs=1, verbose=0)
    assert not (layer.get_weights()[0] == before).all()  # it trained: its backward ran
