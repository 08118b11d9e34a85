"""Hostile and malformed input (issue 9): every bad value is a ValueError / TypeError naming the
argument, raised before any weight or optimizer state changes."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers.weight_values import weight_tensor


def small(compiled=True, built=True):
    layers = ([ks.Input((2,))] if built else []) + [ks.layers.Dense(1)]
    model = ks.Sequential(layers)
    if compiled:
        model.compile(optimizer="sgd", loss="mse")
    return model


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# ----- item 8: weight setters -----------------------------------------------------------------
BAD_WEIGHTS = {
    "complex": ([np.ones((2, 1)) + 1j, np.zeros(1)], TypeError, r"kernel.*real.*complex"),
    "complex tensor": ([torch.ones(2, 1, dtype=torch.complex64), np.zeros(1)], TypeError,
                       "kernel.*complex"),
    "overflow float32": ([np.full((2, 1), 1e300), np.zeros(1)], ValueError,
                         r"kernel.*float32 can hold.*1e\+300"),
    "nan": ([np.full((2, 1), np.nan), np.zeros(1)], ValueError, "kernel.*finite.*NaN"),
    "inf": ([np.zeros((2, 1)), np.array([np.inf])], ValueError, "bias.*finite"),
    "None list": (None, TypeError, "weights.*NoneType"),
    "str": ("abc", TypeError, "weights.*str"),
    "None entry": ([None, np.zeros(1)], TypeError, "kernel.*NoneType"),
    "str entry": ([np.zeros((2, 1)), "x"], TypeError, "bias.*str"),
    "object array": ([np.array([[object()], [1]]), np.zeros(1)], TypeError, "kernel.*object"),
    "ragged": ([[[1.0], [2.0, 3.0]], np.zeros(1)], ValueError, "kernel.*rectangular"),
    "meta": ([torch.empty(2, 1, device="meta"), np.zeros(1)], ValueError, "kernel.*meta"),
    "long double": ([np.full((2, 1), np.longdouble("1e4000")), np.zeros(1)], ValueError,
                    "kernel.*finite"),
    "count": ([np.zeros((2, 1))], ValueError, r"weights.*has 2 weight arrays, received 1"),
    "shape": ([np.zeros((3, 1)), np.zeros(1)], ValueError, r"kernel' expects shape \(2, 1\)"),
}


@pytest.mark.parametrize("setter", ["model", "layer"])
@pytest.mark.parametrize("case", sorted(BAD_WEIGHTS))
def test_weight_setters_refuse_bad_values_and_change_nothing(case, setter):
    values, error, pattern = BAD_WEIGHTS[case]
    model = small()
    before = model.get_weights()
    target = model if setter == "model" else model.layers[0]
    with pytest.raises(error, match=pattern):
        target.set_weights(values)
    assert same(model.get_weights(), before)


def test_assign_checks_the_same_way():
    model = small()
    kernel = model.layers[0].kernel
    before = kernel.numpy()
    for bad, error in ((np.full((2, 1), 1e300), ValueError), (np.ones((2, 1)) * 1j, TypeError),
                       (None, TypeError), (np.full((2, 1), np.nan), ValueError)):
        with pytest.raises(error, match="value: 'dense.*kernel'"):
            kernel.assign(bad)
    np.testing.assert_array_equal(kernel.numpy(), before)
    kernel.assign(np.full((2, 1), 3))  # integers and float64 convert, in place
    assert kernel.value.dtype == torch.float32 and float(kernel.value.sum()) == 6.0


def test_weight_tensor_casts_float64_that_fits():
    model = small()
    t = weight_tensor(np.full((2, 1), 1e30), model.layers[0].kernel)
    assert t.dtype == torch.float32 and torch.isfinite(t).all()


def test_dense_too_large_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"kernel.*\(2, 1099511627776\).*memory"):
        ks.Sequential([ks.Input((2,)), ks.layers.Dense(2**40)])


# ----- item 9: predict_on_batch, save paths, failed fit on an unbuilt model -------------------
@pytest.mark.parametrize("x", [(i for i in range(3)), 5, None, "ab"])
def test_predict_on_batch_wants_one_array(x):
    with pytest.raises(TypeError, match="Invalid x: predict_on_batch"):
        small().predict_on_batch(x)


def test_predict_on_batch_still_takes_arrays_and_lists():
    model = small()
    assert model.predict_on_batch(np.ones((3, 2))).shape == (3, 1)
    assert model.predict_on_batch([[1.0, 2.0]]).shape == (1, 1)


@pytest.mark.parametrize("method", ["save", "save_weights", "load_weights"])
@pytest.mark.parametrize("path", [None, 123, ["a.pt"], b"a.pt"])
def test_save_paths_are_checked(method, path):
    with pytest.raises(TypeError, match="Invalid filepath"):
        getattr(small(), method)(path)


def test_load_model_path_is_checked():
    with pytest.raises(TypeError, match="Invalid filepath"):
        ks.models.load_model(None)
    with pytest.raises(ValueError, match="Invalid filepath"):
        ks.models.load_model("")


@pytest.mark.parametrize("call", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_a_refused_call_leaves_an_unbuilt_model_unbuilt(call):
    model = small(built=False)
    x_wrong, y_wrong = np.ones((4, 3)), np.ones((4, 5))  # y does not match a 1-unit output
    kwargs = {"verbose": 0} if call in ("fit", "evaluate") else {}
    with pytest.raises(ValueError, match="Invalid y"):
        getattr(model, call)(x_wrong, y_wrong, **kwargs)
    assert not model.built and model.weights == []
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)  # the corrected call works
    assert model.input_shape == (None, 2)


def test_a_fit_that_stepped_keeps_its_weights():
    class Boom(ks.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("boom")

    model = small(built=False)
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0, callbacks=[Boom()])
    assert model.built and model.optimizer.iterations == 1
