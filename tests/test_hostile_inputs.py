"""Hostile and malformed input (issue 9): every bad value is a ValueError / TypeError naming the
argument, raised before any weight or optimizer state changes."""

import math
import os

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


# ----- item 1: every Dataset / DataLoader batch is checked before its step --------------------
class Batches(torch.utils.data.Dataset):
    """A Dataset whose items are whole batches (for DataLoader(..., batch_size=None))."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]


def good_batch(seed, n=4, width=2):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, width, generator=g, dtype=torch.float64),
            torch.randn(n, 1, generator=g, dtype=torch.float64), torch.ones(n, dtype=torch.float64))


def spoil(kind):
    x, y, w = good_batch(9)
    if kind == "nan x":
        x[1, 0] = float("nan")
    elif kind == "x beyond float32":
        x[2, 1] = 1e300
    elif kind == "wide x":
        x = torch.randn(4, 3, dtype=torch.float64)
    elif kind == "nan y":
        y[0, 0] = float("nan")
    elif kind == "short y":
        y = y[:3]
    elif kind == "negative weight":
        w[3] = -1.0
    elif kind == "nan weight":
        w[0] = float("nan")
    elif kind == "weight shape":
        w = torch.ones(5, dtype=torch.float64)
    return x, y, w


SPOILED = {"nan x": "x.*finite", "x beyond float32": "x.*float32 can hold", "wide x": "x.*shape",
           "nan y": "y.*finite", "short y": "y.*samples", "negative weight": "sample_weight.*negative",
           "nan weight": "sample_weight.*finite", "weight shape": r"sample_weight.*\(4,\)"}


@pytest.mark.parametrize("kind", sorted(SPOILED))
def test_a_bad_later_batch_is_refused_before_its_step(kind):
    model = small()
    model.fit(*good_batch(0)[:2], verbose=0)  # weights and optimizer built, one step taken
    batches = [good_batch(1), good_batch(2), spoil(kind), good_batch(3)]
    loader = torch.utils.data.DataLoader(Batches(batches), batch_size=None)
    seen = []
    record = ks.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(
        model.get_weights()))
    with pytest.raises(ValueError, match=SPOILED[kind]):
        model.fit(loader, epochs=1, verbose=0, callbacks=[record])
    assert len(seen) == 2 and model.optimizer.iterations == 3
    assert same(model.get_weights(), seen[-1])  # the bad batch's step was never applied
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_a_bad_later_batch_is_refused_by_evaluate_and_predict():
    model = small()
    loader = torch.utils.data.DataLoader(Batches([good_batch(1), spoil("nan x")]), batch_size=None)
    with pytest.raises(ValueError, match="x.*finite"):
        model.evaluate(loader, verbose=0)
    xs = torch.utils.data.DataLoader(Batches([good_batch(1)[0], spoil("wide x")[0]]),
                                     batch_size=None)
    with pytest.raises(ValueError, match="x.*shape"):
        model.predict(xs, verbose=0)


# ----- item 9: data on the meta device, long double, unsigned types ---------------------------
@pytest.mark.parametrize("part", ["x", "y", "sample_weight"])
def test_meta_tensors_are_refused_naming_the_argument(part):
    model = small()
    before = model.get_weights()
    data = {"x": torch.ones(4, 2), "y": torch.ones(4, 1), "sample_weight": torch.ones(4)}
    data[part] = torch.empty(data[part].shape, device="meta")
    with pytest.raises(ValueError, match=f"Invalid {part}: .*meta"):
        model.fit(data["x"], data["y"], sample_weight=data["sample_weight"], verbose=0)
    assert same(model.get_weights(), before)


def test_long_double_and_unsigned_data_are_read_as_numbers():
    model = small()
    x = np.ones((4, 2), dtype=np.longdouble)
    model.fit(x, np.ones((4, 1)), verbose=0)
    assert model.predict(x, verbose=0).shape == (4, 1)
    assert model.predict(np.ones((4, 2), dtype=np.uint32), verbose=0).shape == (4, 1)
    huge = np.full((4, 2), np.longdouble("1e4000"))
    with pytest.raises(ValueError, match="Invalid x: .*finite"):
        model.predict(huge, verbose=0)
    with pytest.raises(ValueError, match="Invalid x: .*finite"):
        model.fit(np.full((4, 2), 1e300), np.ones((4, 1)), verbose=0)  # inf once in float32


# ----- item 3: TerminateOnNaN checks the gradients too ----------------------------------------
def test_terminate_on_nan_catches_an_overflowing_gradient_with_a_finite_loss(capsys):
    model = ks.Sequential([ks.Input((1,)), ks.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    x = np.array([[1.5e19]], dtype=np.float32)  # loss (w x - y)^2 ~ 2e38 is finite in float32,
    y = np.zeros((1, 1), dtype=np.float32)      # its gradient 2 (w x - y) x ~ 7e38 is not
    nan = ks.callbacks.TerminateOnNaN()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[nan])
    assert nan.bad_gradient and math.isfinite(nan.bad_loss)
    assert (nan.stopped_epoch, nan.stopped_batch) == (0, 0)
    assert same(model.get_weights(), before) and model.optimizer.iterations == 0
    assert "gradient" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="gradient"):
        model.fit(x, y, verbose=0, callbacks=[ks.callbacks.TerminateOnNaN(raise_error=True)])
    assert same(model.get_weights(), before)


@pytest.mark.parametrize("value", ["no", 1, None])
def test_terminate_on_nan_raise_error_must_be_a_bool(value):
    with pytest.raises(TypeError, match=f"raise_error.*{value!r}"):
        ks.callbacks.TerminateOnNaN(raise_error=value)


# ----- item 7: ModelCheckpoint's format fields are checked before training --------------------
X4, Y4 = np.ones((8, 2)), np.ones((8, 1))


def checkpoint_fit(tmp_path, pattern, save_freq="epoch", **fit_kwargs):
    model = small()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    before = model.get_weights()
    cb = ks.callbacks.ModelCheckpoint(str(tmp_path / pattern), save_freq=save_freq)
    try:
        model.fit(X4, Y4, epochs=2, batch_size=4, verbose=0, callbacks=[cb], **fit_kwargs)
    finally:
        trained = not same(model.get_weights(), before)
    return trained


@pytest.mark.parametrize("pattern, kwargs, save_freq, why", [
    ("{val_acc}.pt", {}, "epoch", "no validation data"),
    ("{val_loss:.2f}.pt", {}, "epoch", "no validation data"),
    ("{val_acc}.pt", {"validation_split": 0.5}, "epoch", "does not log it"),
    ("{acc}.pt", {}, "epoch", "does not log it"),
    ("{val_loss}.pt", {"validation_split": 0.5}, 1, "training logs only"),
])
def test_unfillable_fields_are_refused_before_training(tmp_path, pattern, kwargs, save_freq, why):
    with pytest.raises(ValueError, match=f"filepath.*{{{pattern.split('}')[0][1:].split(':')[0]}}}"
                                         f".*{why}.*fields fit will log are"):
        assert not checkpoint_fit(tmp_path, pattern, save_freq, **kwargs)
    assert os.listdir(tmp_path) == []


def test_fillable_fields_work(tmp_path):
    checkpoint_fit(tmp_path, "e{epoch:02d}-{loss:.3f}-{val_mae:.3f}-{mae:.3f}.pt",
                   validation_split=0.5)
    checkpoint_fit(tmp_path, "b{batch}-{epoch}.pt", save_freq=1)
    assert len(os.listdir(tmp_path)) == 2 + 4


@pytest.mark.parametrize("pattern", ["{}.pt", "{0}.pt", "{epoch.pt"])
def test_malformed_patterns_are_refused_at_construction(pattern):
    with pytest.raises(ValueError, match="Invalid filepath for ModelCheckpoint"):
        ks.callbacks.ModelCheckpoint(pattern)


def test_epochs_without_validation_skip_their_save_with_a_warning(tmp_path):
    with pytest.warns(RuntimeWarning, match="not validated"):
        checkpoint_fit(tmp_path, "{epoch}-{val_loss:.3f}.pt", validation_split=0.5,
                       validation_freq=2)
    assert len(os.listdir(tmp_path)) == 1  # epoch 2 only


# ----- item 9: direct sparse cross-entropy calls, to_categorical sizes ------------------------
@pytest.mark.parametrize("label", [5, -1, 3])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_crossentropy_direct_call_checks_the_class_range(label, from_logits):
    loss = ks.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    y_pred = torch.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=rf"Invalid y_true: .*\[0, 3\).*{label}"):
        loss(torch.tensor([0, label]), y_pred)
    with pytest.raises(ValueError, match="Invalid y_true: .*integer"):
        loss(torch.tensor([0.5, 1.0]), y_pred)
    assert torch.isfinite(loss(torch.tensor([0, 2]), y_pred))


@pytest.mark.parametrize("x, num_classes, pattern", [
    ([0, 10**12], None, r"x: its largest label asks for 1000000000001 classes.*memory"),
    ([0, 1], 10**13, "num_classes.*memory"),
    ([0.0, 1e30], None, r"x: class labels must be below 2\*\*62"),
])
def test_to_categorical_refuses_tables_too_large(x, num_classes, pattern):
    with pytest.raises(ValueError, match=pattern):
        ks.utils.to_categorical(x, num_classes)


def test_to_categorical_still_matches_eye():
    labels = np.array([[2], [0], [1]])
    np.testing.assert_array_equal(ks.utils.to_categorical(labels), np.eye(3, dtype=np.float32)[[2, 0, 1]])
    out = ks.utils.to_categorical(torch.tensor([1, 0]), 4)
    assert out.shape == (2, 4) and out.dtype == torch.float32 and float(out.sum()) == 2.0


class TwoLayers(ks.Model):
    def __init__(self):
        super().__init__()
        self.hidden, self.out = ks.layers.Dense(4, activation="relu"), ks.layers.Dense(1)

    def call(self, inputs, training=False):
        return self.out(self.hidden(inputs))


def test_a_refused_fit_leaves_a_subclassed_model_unbuilt():
    model = TwoLayers()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="Invalid y"):
        model.fit(np.ones((4, 3)), np.ones((4, 5)), verbose=0)
    assert not model.built
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    assert model.predict(np.ones((3, 2)), verbose=0).shape == (3, 1)
    assert [w.shape for w in model.weights] == [(2, 4), (4,), (4, 1), (1,)]
