"""kerasette.testing.check_gradients: it passes correct backwards, catches wrong ones, checks
losses, works in float64 whatever floatx is, and leaves the checked weights exactly as they were."""

import pytest
import torch

from kerasette import activations, config, layers, losses
from kerasette.flat import pack
from kerasette.testing import check_gradients, numeric_gradient, relative_error

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


class Scale(layers.Layer):
    """y = x * w (w per feature): dx = dy * w, dw = sum over rows of dy * x. `bug` breaks one."""

    def __init__(self, bug=None, **kwargs):
        super().__init__(**kwargs)
        self.bug = bug

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), "random_normal")

    def forward(self, x, training=False):
        w = self.w.value
        y = x * w

        def backward(dy):
            dw = (dy * x)[0] if self.bug == "dw_first_row_only" else (dy * x).sum(0)
            self.w.grad.add_(dw)
            return dy if self.bug == "dx_forgets_w" else dy * w
        return y, backward


class JacobianlessSoftmax(activations.Softmax):
    """A classic bug: softmax's backward as if it were elementwise, dx = dy * y * (1 - y)."""

    def forward(self, x):
        y, _ = super().forward(x)
        return y, lambda dy: dy * y * (1 - y)


def x_data(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- layers and activation functions ---------------------------------------------------------
def test_a_correct_layer_passes_with_one_entry_per_weight():
    errors = check_gradients(Scale(name="scale"), x_data(4, 3))
    assert set(errors) == {"input", "scale/w"}
    assert max(errors.values()) < 1e-8


@pytest.mark.parametrize("bug,bad_key", [("dx_forgets_w", "input"),
                                         ("dw_first_row_only", "scale/w")])
def test_a_wrong_backward_is_caught_where_it_is_wrong(bug, bad_key):
    errors = check_gradients(Scale(bug=bug, name="scale"), x_data(4, 3))
    assert errors[bad_key] > 1e-2
    good = [k for k in errors if k != bad_key]
    assert all(errors[k] < 1e-8 for k in good)


def test_a_softmax_backward_without_the_jacobian_is_caught():
    x = x_data(3, 4)
    assert check_gradients(activations.Softmax(), x)["input"] < 1e-8
    assert check_gradients(JacobianlessSoftmax(), x)["input"] > 1e-2


def test_frozen_weights_are_skipped():
    layer = layers.Dense(3)
    layer(x_data(2, 4))
    layer.kernel.trainable = False
    assert set(check_gradients(layer, x_data(2, 4))) == {"input", f"{layer.name}/bias"}


def test_seed_fixes_the_projection():
    layer = layers.Dense(3, activation="tanh")
    x = x_data(5, 2)
    assert check_gradients(layer, x, seed=3) == check_gradients(layer, x, seed=3)
    assert check_gradients(layer, x, seed=3) != check_gradients(layer, x, seed=4)


def test_training_flag_reaches_the_layer():
    seen = []

    class Spy(layers.Layer):
        def forward(self, x, training=False):
            seen.append(training)
            return x * 2, lambda dy: dy * 2

    assert check_gradients(Spy(), x_data(2, 2), training=True)["input"] < 1e-8
    assert seen and all(seen)


# ---- float64 and restoring the weights -------------------------------------------------------
def test_float32_layer_is_checked_in_float64_and_restored_untouched():
    config.set_floatx("float32")
    layer = layers.Dense(3, activation="sigmoid", bias_initializer="random_normal")
    x = torch.randn(4, 5)
    layer(x)
    buffer = pack(layer.weights)  # weights as views into one flat buffer, as in a compiled model
    buffer.grads.fill_(1.0)       # gradients already accumulated by a training step
    before = [(w.value, w.grad, w.value.clone()) for w in layer.weights]
    x_before = x.clone()

    errors = check_gradients(layer, x)
    assert max(errors.values()) < 1e-6  # float64 precision although the layer is float32

    for w, (value, grad, copy) in zip(layer.weights, before):
        assert w.value is value and w.grad is grad
        assert w.value.dtype == torch.float32 and torch.equal(w.value, copy)
        assert torch.equal(w.grad, torch.ones_like(grad))
        assert w.value.data_ptr() >= buffer.params.data_ptr()  # still views into the buffer
    assert torch.equal(x, x_before)


def test_weights_are_restored_when_backward_raises():
    class Broken(Scale):
        def forward(self, x, training=False):
            y, _ = super().forward(x)

            def backward(dy):
                raise RuntimeError("broken backward")
            return y, backward

    layer = Broken()
    x = x_data(2, 3)
    layer(x)
    value, grad = layer.w.value, layer.w.grad
    with pytest.raises(RuntimeError, match="broken backward"):
        check_gradients(layer, x)
    assert layer.w.value is value and layer.w.grad is grad


# ---- losses ----------------------------------------------------------------------------------
def loss_cases():
    g = torch.Generator().manual_seed(5)
    n, c = 6, 4
    logits = torch.randn(n, c, generator=g, dtype=torch.float64)
    probs = torch.softmax(logits, dim=-1)
    onehot = torch.eye(c, dtype=torch.float64)[torch.randint(0, c, (n,), generator=g)]
    labels = onehot.argmax(-1)
    binary = (torch.rand(n, 1, generator=g) > 0.5).double()
    p = torch.rand(n, 1, generator=g, dtype=torch.float64) * 0.9 + 0.05
    reg_pred = torch.randn(n, 3, generator=g, dtype=torch.float64)
    reg_true = reg_pred + torch.randn(n, 3, generator=g, dtype=torch.float64)
    return [
        (losses.MeanSquaredError(), reg_pred, reg_true),
        (losses.MeanAbsoluteError(), reg_pred, reg_true),
        (losses.Huber(delta=0.7), reg_pred, reg_true),
        (losses.BinaryCrossentropy(), p, binary),
        (losses.BinaryCrossentropy(from_logits=True), logits[:, :1] * 3, binary),
        (losses.CategoricalCrossentropy(), probs, onehot),
        (losses.CategoricalCrossentropy(from_logits=True), logits, onehot),
        (losses.SparseCategoricalCrossentropy(), probs, labels),
        (losses.SparseCategoricalCrossentropy(from_logits=True), logits, labels),
    ]


@pytest.mark.parametrize("loss,y_pred,y_true", loss_cases(), ids=lambda v: repr(v)[:40])
@pytest.mark.parametrize("weighted", [False, True])
def test_losses_pass(loss, y_pred, y_true, weighted):
    sample_weight = torch.linspace(0.0, 2.0, y_pred.shape[0]) if weighted else None
    errors = check_gradients(loss, y_pred, y_true, sample_weight=sample_weight)
    assert set(errors) == {"input"} and errors["input"] < 1e-6


def test_a_wrong_loss_gradient_is_caught():
    class HalfMSE:
        """mean((y_pred - y_true)^2) with the factor 2 of its gradient forgotten."""

        def forward(self, y_true, y_pred, sample_weight=None):
            diff = y_pred - y_true
            return (diff ** 2).mean(), lambda: diff / diff.numel()

    y_pred, y_true = x_data(4, 2), x_data(4, 2, seed=1)
    assert check_gradients(HalfMSE(), y_pred, y_true)["input"] > 0.1
    assert check_gradients(losses.MeanSquaredError(), y_pred, y_true)["input"] < 1e-8


# ---- arguments and the helpers ---------------------------------------------------------------
def test_bad_arguments():
    with pytest.raises(ValueError, match="y_true"):
        check_gradients(losses.MeanSquaredError(), x_data(2, 2))
    with pytest.raises(TypeError, match="target"):
        check_gradients(torch.tanh, x_data(2, 2))
    with pytest.raises(ValueError, match="eps"):
        check_gradients(layers.ReLU(), x_data(2, 2), eps=0.0)


def test_numeric_gradient_and_relative_error():
    t = x_data(3, 2)
    numeric = numeric_gradient(lambda: float((t ** 3).sum()), t)
    torch.testing.assert_close(numeric, 3 * t ** 2)
    assert relative_error(torch.zeros(3), torch.zeros(3)) == 0.0
    assert relative_error(torch.ones(3), -torch.ones(3)) == 1.0
    with pytest.raises(ValueError, match="shape"):
        relative_error(torch.zeros(3), torch.zeros(4))
