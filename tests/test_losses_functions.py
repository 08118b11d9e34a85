"""The functional forms of the losses (`ks.losses.categorical_crossentropy(y_true, y_pred)`, ...):
per-sample values as Keras's functions give them, and `compile(loss=function)` training exactly as
the Loss class does (its hand-written gradient and fused sigmoid / softmax path)."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette import losses
from kerasette.losses.functions import LOSS_OF_FUNCTION

F64 = torch.float64


def _data(fn, gen):
    """(y_true, y_pred) of shape (5, 3) that suit the function."""
    y_pred = torch.rand(5, 3, generator=gen, dtype=F64) * 0.9 + 0.05
    if fn is losses.sparse_categorical_crossentropy:
        return torch.randint(0, 3, (5,), generator=gen), y_pred
    y_true = torch.rand(5, 3, generator=gen, dtype=F64)
    if fn in (losses.categorical_crossentropy, losses.categorical_focal_crossentropy,
              losses.categorical_hinge):
        y_true = torch.eye(3, dtype=F64)[torch.randint(0, 3, (5,), generator=gen)]
    return y_true, y_pred


@pytest.mark.parametrize("fn", list(LOSS_OF_FUNCTION), ids=lambda f: f.__name__)
def test_function_gives_per_sample_losses_of_its_class(fn):
    y_true, y_pred = _data(fn, torch.Generator().manual_seed(0))
    values = fn(y_true, y_pred)
    assert values.shape == (5,)
    cls = LOSS_OF_FUNCTION[fn]
    torch.testing.assert_close(values, cls(reduction=None)(y_true, y_pred))
    torch.testing.assert_close(values.mean(), cls()(y_true, y_pred))
    # numpy in works too, sequences give (N, T)
    assert fn(y_true.numpy(), y_pred.numpy()).shape == (5,)
    seq_true, seq_pred = (torch.stack([t, t]) for t in (y_true, y_pred))
    assert fn(seq_true, seq_pred).shape == (2, 5)


def test_functions_agree_with_keras_documented_values():
    # examples in the docstrings of Keras 3.16 keras/src/losses/losses.py
    y_cat = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    p_cat = torch.tensor([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    torch.testing.assert_close(losses.categorical_crossentropy(y_cat, p_cat),
                               torch.tensor([0.0513, 2.303]), atol=1e-3, rtol=0)
    torch.testing.assert_close(losses.sparse_categorical_crossentropy(torch.tensor([1, 2]), p_cat),
                               torch.tensor([0.0513, 2.303]), atol=1e-3, rtol=0)
    y, p = torch.tensor([[0.0, 1.0], [0.0, 0.0]]), torch.tensor([[0.6, 0.4], [0.4, 0.6]])
    torch.testing.assert_close(losses.binary_crossentropy(y, p), torch.tensor([0.916, 0.714]),
                               atol=1e-3, rtol=0)
    assert losses.huber(torch.tensor([[0.0, 1.0], [0.0, 0.0]]), p).mean().item() == \
        pytest.approx(0.155, abs=1e-3)


def test_functions_match_numpy_formulas():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    np.testing.assert_allclose(losses.mse(y, p).numpy(), ((y - p) ** 2).mean(-1))
    np.testing.assert_allclose(losses.mae(y, p).numpy(), np.abs(y - p).mean(-1))
    np.testing.assert_allclose(losses.mape(y, p).numpy(),
                               100 * np.abs((y - p) / np.maximum(np.abs(y), 1e-7)).mean(-1))
    np.testing.assert_allclose(losses.logcosh(y, p).numpy(), np.log(np.cosh(p - y)).mean(-1))
    np.testing.assert_allclose(losses.squared_hinge(np.sign(y), p).numpy(),
                               (np.maximum(1 - np.sign(y) * p, 0) ** 2).mean(-1))


def test_keyword_arguments_reach_the_loss():
    y, z = torch.tensor([[0.0, 1.0]]), torch.tensor([[-1.0, 2.0]])
    torch.testing.assert_close(losses.binary_crossentropy(y, z, from_logits=True, label_smoothing=0.2),
                               losses.BinaryCrossentropy(True, 0.2, reduction=None)(y, z))
    torch.testing.assert_close(losses.huber(y, z, delta=0.5),
                               losses.Huber(0.5, reduction=None)(y, z))
    a, b = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    torch.testing.assert_close(losses.cosine_similarity(a, b, axis=1),
                               losses.cosine_similarity(a.transpose(1, 2), b.transpose(1, 2)))
    with pytest.raises(ValueError, match="axis"):
        losses.binary_crossentropy(y, z, axis=0)
    with pytest.raises(ValueError, match="ignore_class"):
        losses.sparse_categorical_crossentropy(torch.tensor([1]), z, ignore_class=0)


@pytest.mark.parametrize("fn", list(LOSS_OF_FUNCTION), ids=lambda f: f.__name__)
def test_get_maps_each_function_to_its_loss_class(fn):
    loss = losses.get(fn)
    assert type(loss) is LOSS_OF_FUNCTION[fn]
    assert losses.get(fn) is not loss  # a new instance each time


def test_keras2_aliases_are_the_functions():
    assert losses.mse is losses.MSE is losses.mean_squared_error
    assert losses.mae is losses.mean_absolute_error
    assert losses.mape is losses.mean_absolute_percentage_error
    assert losses.msle is losses.mean_squared_logarithmic_error
    assert losses.kld is losses.kullback_leibler_divergence is losses.kl_divergence
    assert type(losses.get(losses.mse)) is losses.MeanSquaredError


def test_other_functions_are_traced_and_a_tensor_method_gets_a_clear_error():
    def my_loss(y_true, y_pred):  # x.mean() has no symbolic form: ks.ops.mean(x) has
        return ((y_true - y_pred) ** 2).mean()

    loss = losses.get(my_loss)
    assert isinstance(loss, losses.FunctionLoss) and loss.fn is my_loss
    with pytest.raises(TypeError, match=r"'my_loss' could not be traced.*not x\.mean\(\)"):
        loss(torch.zeros(3, 2), torch.ones(3, 2))


def _fit(loss, activation, x, y, units):
    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((4,)), ks.layers.Dense(8, activation="tanh"),
                           ks.layers.Dense(units, activation=activation)])
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss=loss, metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    return model, history


@pytest.mark.parametrize("fn, name, activation, kind", [
    (losses.categorical_crossentropy, "categorical_crossentropy", "softmax", "onehot"),
    (losses.sparse_categorical_crossentropy, "sparse_categorical_crossentropy", "softmax",
     "sparse"),
    (losses.binary_crossentropy, "binary_crossentropy", "sigmoid", "binary"),
    (losses.mean_squared_error, "mse", None, "binary"),
    (losses.hinge, "hinge", "tanh", "binary"),
])
def test_compile_with_a_function_trains_as_the_loss_class(fn, name, activation, kind):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(32, 4, generator=gen)
    labels = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    units = 1 if kind == "binary" else 3
    y = {"onehot": torch.eye(3)[labels], "sparse": labels,
         "binary": (labels > 0).float()[:, None]}[kind]
    by_fn, hist_fn = _fit(fn, activation, x, y, units)
    by_name, hist_name = _fit(name, activation, x, y, units)
    assert type(by_fn.loss) is LOSS_OF_FUNCTION[fn]
    assert hist_fn.history == hist_name.history
    for a, b in zip(by_fn.get_weights(), by_name.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert hist_fn.history["loss"][-1] < hist_fn.history["loss"][0]
