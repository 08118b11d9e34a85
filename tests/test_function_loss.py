"""A loss written as a function of ks.ops (`compile(loss=my_loss)`), traced into a graph whose
backward gives dL/dy_pred: against the built-in loss of the same math, against torch autograd, and
its refusals."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette import ops

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def my_mse(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def softplus_margin(y_true, y_pred):
    """log(1 + exp(-y y_hat)) per output, averaged: a smooth hinge, with ** and a constant."""
    return ops.mean(ops.log(1.0 + ops.exp(-(y_true * y_pred))) + 0.1 * y_pred ** 2, axis=-1)


def twin_models(loss_a, loss_b, units=2, seed=0):
    ks.utils.set_random_seed(seed)
    a = ks.Sequential([ks.Input((3,)), ks.layers.Dense(4, activation="tanh"), ks.layers.Dense(units)])
    b = ks.Sequential([ks.Input((3,)), ks.layers.Dense(4, activation="tanh"), ks.layers.Dense(units)])
    b.set_weights(a.get_weights())
    a.compile(ks.optimizers.SGD(0.1), loss=loss_a)
    b.compile(ks.optimizers.SGD(0.1), loss=loss_b)
    return a, b


def data(n=32, units=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 3, generator=g, dtype=torch.float64),
            torch.randn(n, units, generator=g, dtype=torch.float64),
            torch.rand(n, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
def test_a_function_trains_exactly_like_the_built_in_loss(reduction):
    fn_loss = ks.losses.FunctionLoss(my_mse, reduction=reduction)
    built_in = ks.losses.MeanSquaredError(reduction=reduction)
    a, b = twin_models(fn_loss, built_in)
    x, y, w = data()
    ha = a.fit(x, y, sample_weight=w, epochs=3, batch_size=8, shuffle=False, verbose=0)
    hb = b.fit(x, y, sample_weight=w, epochs=3, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-12)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-12)


def test_compile_takes_the_plain_function():
    a, _ = twin_models(my_mse, "mse")
    assert isinstance(a.loss, ks.losses.FunctionLoss) and a.loss.name == "my_mse"


def test_gradient_against_torch_autograd_over_20_steps():
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(2)])
    model.compile(ks.optimizers.SGD(0.05), loss=softplus_margin)
    kernel, bias = (torch.tensor(v, requires_grad=True) for v in model.get_weights())
    for step in range(20):
        x, y, _ = data(8, seed=step)
        y = torch.sign(y)
        got = model.train_on_batch(x, y)
        p = x @ kernel + bias
        loss = (torch.log(1 + torch.exp(-(y * p))) + 0.1 * p ** 2).mean(-1).mean()
        gk, gb = torch.autograd.grad(loss, [kernel, bias])
        with torch.no_grad():
            kernel -= 0.05 * gk
            bias -= 0.05 * gb
        assert abs(got - loss.item()) < 1e-10
    for got, want in zip(model.get_weights(), (kernel, bias)):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=0, atol=1e-10)


def test_per_sample_values_scalars_and_integer_labels():
    y_true, y_pred = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    per_sample = ks.losses.FunctionLoss(my_mse, reduction=None)(y_true, y_pred)
    torch.testing.assert_close(per_sample, ((y_true - y_pred) ** 2).mean(-1))
    scalar = ks.losses.FunctionLoss(lambda t, p: ops.sum(ops.abs(t - p)))
    value, backward = scalar.forward(y_true, y_pred)
    torch.testing.assert_close(value, (y_true - y_pred).abs().sum())
    torch.testing.assert_close(backward(), torch.sign(y_pred - y_true))
    labels = torch.tensor([0, 1, 1, 0, 1])  # integer y_true, cast inside the function

    def bce(t, p):
        t = ops.cast(t, "float64")
        return -(t * ops.log(p[:, 0]) + (1.0 - t) * ops.log(1.0 - p[:, 0]))
    probs = torch.rand(5, 1, dtype=torch.float64) * 0.8 + 0.1
    value, backward = ks.losses.FunctionLoss(bce).forward(labels, probs)
    t = labels.double()
    torch.testing.assert_close(value, -(t * probs[:, 0].log() + (1 - t) * (1 - probs[:, 0]).log()).mean())
    assert backward().shape == probs.shape


def test_several_outputs_mix_functions_and_built_ins():
    x_in = ks.Input((3,))
    h = ks.layers.Dense(4, activation="tanh")(x_in)
    model = ks.Model(x_in, {"a": ks.layers.Dense(2, name="a")(h), "b": ks.layers.Dense(1, name="b")(h)})
    model.compile("sgd", loss={"a": my_mse, "b": "mse"})
    x, y, _ = data()
    history = model.fit(x, {"a": y, "b": y[:, :1]}, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "a_loss", "b_loss"}


def test_saved_with_its_name_and_loaded_through_custom_objects(tmp_path):
    model, _ = twin_models(my_mse, "mse")
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=r"Unknown loss function 'my_mse': pass custom_objects"):
        ks.models.load_model(tmp_path / "m.keras")
    again = ks.models.load_model(tmp_path / "m.keras", custom_objects={"my_mse": my_mse})
    assert isinstance(again.loss, ks.losses.FunctionLoss) and again.loss.fn is my_mse
    assert ks.models.load_model(tmp_path / "m.keras", compile=False).get_weights()[0].shape == (3, 4)


@pytest.mark.parametrize("fn, error, match", [
    (lambda t, p: torch.mean((t - p) ** 2), TypeError, "could not be traced"),
    (lambda t, p: ops.argmax(p, axis=-1), TypeError, "argmax has no gradient"),
    (lambda t, p: 1.0, TypeError, "must return ks.ops of y_true and y_pred, received float"),
    (lambda t, p: ops.transpose(p - t), ValueError, "return one value per sample"),
])
def test_what_cannot_be_traced_is_refused(fn, error, match):
    with pytest.raises(error, match=match):
        ks.losses.FunctionLoss(fn).forward(torch.zeros(4, 2, dtype=torch.float64),
                                           torch.ones(4, 2, dtype=torch.float64))


def huber_by_ops(y_true, y_pred):
    e = ops.abs(y_true - y_pred)
    return ops.mean(ops.where(e <= 1.0, 0.5 * e ** 2, e - 0.5), axis=-1)


def test_a_branching_loss_with_where_trains_like_the_built_in_huber():
    a, b = twin_models(huber_by_ops, ks.losses.Huber(delta=1.0))
    x, y, w = data()
    y = y * 3  # errors on both sides of delta
    ha = a.fit(x, y, sample_weight=w, epochs=3, batch_size=8, shuffle=False, verbose=0)
    hb = b.fit(x, y, sample_weight=w, epochs=3, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-12)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-12)
