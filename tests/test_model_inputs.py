"""Bad input (issue 4, item 9): a ValueError / TypeError naming the argument, raised before any
weight or optimizer state changes. Every case runs on a model that has already taken one step (so
the optimizer has a non-trivial state) and checks weights, slots and iterations afterwards."""

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 3))
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
W = np.ones(10)


def trained(loss="sparse_categorical_crossentropy", out=3, act="softmax"):
    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(out, activation=act)])
    model.compile(ks.optimizers.Adam(0.1), loss, metrics=["accuracy"])
    y = {"sparse_categorical_crossentropy": Y, "categorical_crossentropy": np.eye(3)[Y],
         "binary_crossentropy": (Y > 0).astype(float)[:, None], "mse": np.eye(3)[Y]}[loss]
    model.fit(X, y, batch_size=10, verbose=0)
    return model


def snapshot(model):
    opt = model.optimizer
    slots = {k: v.clone() for k, v in opt._slots.items()} if opt is not None and \
        opt.buffer is not None else {}
    return model.get_weights(), getattr(opt, "iterations", None), slots


def assert_unchanged(model, snap):
    weights, iterations, slots = snap
    now = model.get_weights()
    assert len(now) == len(weights)
    assert all(np.array_equal(a, b) for a, b in zip(weights, now)), "weights changed"
    if model.optimizer is not None:
        assert model.optimizer.iterations == iterations, "optimizer iterations changed"
        for k, v in slots.items():
            assert torch.equal(model.optimizer._slots[k], v), f"optimizer slot {k} changed"


def rejects(model, call, exc, match):
    snap = snapshot(model)
    with pytest.raises(exc, match=match):
        call(model)
    assert_unchanged(model, snap)


nan_at = X.copy()
nan_at[3, 1] = np.nan
inf_at = X.copy()
inf_at[0, 2] = -np.inf


FIT_CASES = {
    # lengths
    "x/y length": (lambda m: m.fit(X, Y[:9], verbose=0), ValueError, r"y.*10.*9"),
    "sample_weight length": (lambda m: m.fit(X, Y, sample_weight=W[:7], verbose=0), ValueError,
                             r"sample_weight.*\(7,\)"),
    "sample_weight 2-D": (lambda m: m.fit(X, Y, sample_weight=np.ones((10, 2)), verbose=0),
                          ValueError, "sample_weight"),
    "negative sample_weight": (lambda m: m.fit(X, Y, sample_weight=-W, verbose=0), ValueError,
                               "sample_weight.*negative"),
    "nan sample_weight": (lambda m: m.fit(X, Y, sample_weight=W * np.nan, verbose=0), ValueError,
                          "sample_weight.*finite"),
    # features
    "feature count": (lambda m: m.fit(X[:, :2], Y, verbose=0), ValueError, r"x.*\(None, 3\)"),
    "feature rank": (lambda m: m.fit(X[:, :, None], Y, verbose=0), ValueError, "x"),
    "empty x": (lambda m: m.fit(X[:0], Y[:0], verbose=0), ValueError, "x.*empty"),
    "empty y": (lambda m: m.fit(X, Y[:0], verbose=0), ValueError, "y"),
    "missing y": (lambda m: m.fit(X, verbose=0), ValueError, "y"),
    "missing x": (lambda m: m.fit(None, Y, verbose=0), ValueError, "x"),
    "scalar x": (lambda m: m.fit(3.0, Y, verbose=0), TypeError, "x"),
    "string x": (lambda m: m.fit([["a", "b", "c"]] * 10, Y, verbose=0), TypeError, "x.*numeric"),
    "object x": (lambda m: m.fit(np.array([[1, 2, None]] * 10, dtype=object), Y, verbose=0),
                 TypeError, "x.*object"),
    "dict x": (lambda m: m.fit({"a": X}, Y, verbose=0), ValueError, "x"),  # 'a' is no input name
    "bool tensor x": (lambda m: m.fit(torch.as_tensor(X > 0), Y, verbose=0), TypeError, "x"),
    "string y": (lambda m: m.fit(X, np.array(["a"] * 10), verbose=0), TypeError, "y.*numeric"),
    "nan x": (lambda m: m.fit(nan_at, Y, verbose=0), ValueError, r"x.*finite.*\(3, 1\)"),
    "inf x": (lambda m: m.fit(inf_at, Y, verbose=0), ValueError, "x.*finite"),
    "inf x tensor": (lambda m: m.fit(torch.as_tensor(inf_at), Y, verbose=0), ValueError, "x"),
    "x too large for the model dtype": None,  # filled in below for float32 models only
    # labels vs loss and output shape
    "one-hot for sparse": (lambda m: m.fit(X, np.eye(3)[Y], verbose=0), ValueError,
                           "y.*categorical_crossentropy"),
    "label out of range": (lambda m: m.fit(X, Y + 1, verbose=0), ValueError, r"y.*\[0, 3\)"),
    "negative label": (lambda m: m.fit(X, Y - 1, verbose=0), ValueError, "y.*-1"),
    "fractional label": (lambda m: m.fit(X, Y + 0.5, verbose=0), ValueError, "y.*integer"),
    "nan label": (lambda m: m.fit(X, np.where(Y == 1, np.nan, Y), verbose=0), ValueError,
                  "y.*finite"),
    # hyperparameters
    "batch_size 0": (lambda m: m.fit(X, Y, batch_size=0, verbose=0), ValueError, "batch_size.*0"),
    "batch_size -1": (lambda m: m.fit(X, Y, batch_size=-1, verbose=0), ValueError,
                      "batch_size.*-1"),
    "batch_size 2.5": (lambda m: m.fit(X, Y, batch_size=2.5, verbose=0), TypeError,
                       r"batch_size.*2\.5"),
    "batch_size '32'": (lambda m: m.fit(X, Y, batch_size="32", verbose=0), TypeError,
                        "batch_size.*'32'"),
    "batch_size True": (lambda m: m.fit(X, Y, batch_size=True, verbose=0), TypeError,
                        "batch_size"),
    "epochs -1": (lambda m: m.fit(X, Y, epochs=-1, verbose=0), ValueError, "epochs.*-1"),
    "epochs 1.5": (lambda m: m.fit(X, Y, epochs=1.5, verbose=0), TypeError, r"epochs.*1\.5"),
    "epochs '3'": (lambda m: m.fit(X, Y, epochs="3", verbose=0), TypeError, "epochs"),
    "initial_epoch -1": (lambda m: m.fit(X, Y, initial_epoch=-1, verbose=0), ValueError,
                         "initial_epoch"),
    "steps_per_epoch 0": (lambda m: m.fit(X, Y, steps_per_epoch=0, verbose=0), ValueError,
                          "steps_per_epoch"),
    "shuffle 'yes'": (lambda m: m.fit(X, Y, shuffle="yes", verbose=0), TypeError, "shuffle"),
    "verbose 3": (lambda m: m.fit(X, Y, verbose=3), ValueError, "verbose"),
    "validation_split 1.0": (lambda m: m.fit(X, Y, validation_split=1.0, verbose=0), ValueError,
                             r"validation_split.*1\.0"),
    "validation_split -0.1": (lambda m: m.fit(X, Y, validation_split=-0.1, verbose=0),
                              ValueError, r"validation_split.*-0\.1"),
    "validation_split '0.2'": (lambda m: m.fit(X, Y, validation_split="0.2", verbose=0),
                               ValueError, "validation_split"),
    "validation_split too small": (lambda m: m.fit(X, Y, validation_split=0.05, verbose=0),
                                   ValueError, "validation_split.*empty"),
    "validation_data arity 1": (lambda m: m.fit(X, Y, validation_data=(X,), verbose=0),
                                ValueError, "validation_data.*length 1"),
    "validation_data arity 4": (lambda m: m.fit(X, Y, validation_data=(X, Y, W, W), verbose=0),
                                ValueError, "validation_data.*length 4"),
    "validation_data not a tuple": (lambda m: m.fit(X, Y, validation_data=X, verbose=0),
                                    ValueError, "validation_data"),
    "validation_data features": (lambda m: m.fit(X, Y, validation_data=(X[:, :2], Y), verbose=0),
                                 ValueError, "validation_data x"),
    "validation_data labels": (lambda m: m.fit(X, Y, validation_data=(X, Y + 5), verbose=0),
                               ValueError, "validation_data y"),
    "validation_data nan": (lambda m: m.fit(X, Y, validation_data=(nan_at, Y), verbose=0),
                            ValueError, "validation_data x.*finite"),
    "validation_data weights": (lambda m: m.fit(X, Y, validation_data=(X, Y, W[:3]), verbose=0),
                                ValueError, "validation_data sample_weight"),
    "class_weight unknown key": (lambda m: m.fit(X, Y, class_weight={0: 1.0, 5: 2.0}, verbose=0),
                                 ValueError, r"class_weight.*\[5\]"),
    "class_weight negative key": (lambda m: m.fit(X, Y, class_weight={-1: 2.0}, verbose=0),
                                  ValueError, "class_weight"),
    "class_weight string key": (lambda m: m.fit(X, Y, class_weight={"cat": 2.0}, verbose=0),
                                ValueError, "class_weight.*cat"),
    "class_weight list": (lambda m: m.fit(X, Y, class_weight=[1.0, 2.0, 3.0], verbose=0),
                          TypeError, "class_weight"),
    "callbacks not callbacks": (lambda m: m.fit(X, Y, callbacks=[print], verbose=0), TypeError,
                                "callbacks"),
    "misspelled keyword": (lambda m: m.fit(X, Y, epoch=3), TypeError, "epoch"),
    "dataset with y": (lambda m: m.fit(TensorDataset(torch.as_tensor(X), torch.as_tensor(Y)), Y,
                                       verbose=0), ValueError, "y"),
    "dataset with sample_weight": (lambda m: m.fit(TensorDataset(torch.as_tensor(X),
                                                              torch.as_tensor(Y)),
                                                sample_weight=W, verbose=0), ValueError,
                                   "Invalid sample_weight"),
    "dataset with class_weight": (lambda m: m.fit(TensorDataset(torch.as_tensor(X),
                                                             torch.as_tensor(Y)),
                                               class_weight={0: 2.0}, verbose=0), ValueError,
                                  "Invalid class_weight"),
    "dataset with validation_split": (
        lambda m: m.fit(TensorDataset(torch.as_tensor(X), torch.as_tensor(Y)),
                        validation_split=0.2, verbose=0), ValueError, "validation_split"),
}
FIT_CASES = {k: v for k, v in FIT_CASES.items() if v is not None}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_rejects_bad_input_before_any_change(case):
    call, exc, match = FIT_CASES[case]
    rejects(trained(), call, exc, match)


OTHER_CASES = {
    "evaluate x/y length": (lambda m: m.evaluate(X, Y[:4], verbose=0), ValueError, "y"),
    "evaluate features": (lambda m: m.evaluate(X[:, :1], Y, verbose=0), ValueError, "x"),
    "evaluate sample_weight": (lambda m: m.evaluate(X, Y, sample_weight=W[:2], verbose=0),
                               ValueError, "sample_weight"),
    "evaluate labels": (lambda m: m.evaluate(X, Y + 3, verbose=0), ValueError, "y"),
    "evaluate batch_size": (lambda m: m.evaluate(X, Y, batch_size=0, verbose=0), ValueError,
                            "batch_size"),
    "evaluate steps": (lambda m: m.evaluate(X, Y, steps=-2, verbose=0), ValueError, "steps"),
    "predict features": (lambda m: m.predict(X[:, :2], verbose=0), ValueError,
                         r"x.*\(None, 3\).*\(10, 2\)"),
    "predict empty": (lambda m: m.predict(X[:0], verbose=0), ValueError, "x"),
    "predict strings": (lambda m: m.predict([["a", "b", "c"]], verbose=0), TypeError, "x"),
    "predict nan": (lambda m: m.predict(nan_at, verbose=0), ValueError, "x"),
    "predict batch_size": (lambda m: m.predict(X, batch_size=1.0, verbose=0), TypeError,
                           "batch_size"),
    "train_on_batch length": (lambda m: m.train_on_batch(X, Y[:3]), ValueError, "y"),
    "train_on_batch labels": (lambda m: m.train_on_batch(X, Y + 3), ValueError, "y"),
    "train_on_batch nan": (lambda m: m.train_on_batch(nan_at, Y), ValueError, "x"),
    "train_on_batch class_weight": (lambda m: m.train_on_batch(X, Y, class_weight={7: 1.0}),
                                    ValueError, "class_weight"),
    "test_on_batch features": (lambda m: m.test_on_batch(X[:, :2], Y), ValueError, "x"),
    "set_weights shapes": (lambda m: m.set_weights([w.T for w in m.get_weights()]), ValueError,
                           "weights"),
    "set_weights count": (lambda m: m.set_weights(m.get_weights()[:-1]), ValueError, "weights"),
}


@pytest.mark.parametrize("case", list(OTHER_CASES))
def test_other_calls_reject_bad_input_before_any_change(case):
    call, exc, match = OTHER_CASES[case]
    rejects(trained(), call, exc, match)


LABEL_CASES = [
    ("categorical_crossentropy", Y, "y.*sparse_categorical_crossentropy"),       # integers
    ("categorical_crossentropy", np.eye(4)[Y], r"y.*\(3,\).*\(10, 4\)"),         # 4 columns
    ("categorical_crossentropy", np.eye(3)[Y] * 2, r"y.*\[0, 1\]"),
    ("binary_crossentropy", np.eye(3)[Y][:, :2], r"y.*\(1,\)"),
    ("binary_crossentropy", (Y * 2.0)[:, None], r"y.*\[0, 1\]"),
    ("mse", Y, r"y.*\(3,\)"),
]


@pytest.mark.parametrize("loss, y, match", LABEL_CASES)
def test_labels_incompatible_with_the_loss_or_output(loss, y, match):
    out, act = (1, "sigmoid") if loss == "binary_crossentropy" else (3, "softmax")
    rejects(trained(loss, out, act), lambda m: m.fit(X, y, verbose=0), ValueError, match)


@pytest.mark.parametrize("call", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_calls_before_compile(call):
    model = ks.Sequential([ks.Input((3,)), Dense(3)])
    snap = snapshot(model)
    with pytest.raises(ValueError, match="compile"):
        getattr(model, call)(X, np.eye(3)[Y])
    assert_unchanged(model, snap)
    assert isinstance(ks.models.NotCompiledError("x"), RuntimeError)  # also catchable as such


def test_compile_without_loss_is_not_enough_for_fit():
    model = ks.Sequential([ks.Input((3,)), Dense(3)])
    model.compile("sgd")
    with pytest.raises(ValueError, match="loss"):
        model.fit(X, np.eye(3)[Y], verbose=0)


def test_value_too_large_for_a_float32_model():
    """Finite in float64 but infinite once cast to the model's float32: caught as non-finite."""
    ks.config.set_floatx("float32")
    model = ks.Sequential([ks.Input((3,)), Dense(3)])
    model.compile("sgd", "mse")
    big = X.copy()
    big[0, 0] = 1e300
    rejects(model, lambda m: m.fit(big, np.eye(3)[Y], verbose=0), ValueError, "x.*finite")


def test_numpy_integer_hyperparameters_are_accepted():
    model = trained()
    model.fit(X, Y, batch_size=np.int64(4), epochs=np.int32(2), initial_epoch=np.int64(1),
              validation_split=np.float64(0.3), verbose=0)
    assert model.optimizer.iterations == 1 + 2  # 7 training samples, batches of 4


def test_a_failed_fit_leaves_the_model_usable():
    model = trained()
    with pytest.raises(ValueError):
        model.fit(X, Y + 10, verbose=0)
    history = model.fit(X, Y, epochs=2, batch_size=5, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.optimizer.iterations == 1 + 4


@pytest.mark.parametrize("kwargs", [dict(metrics=["mse"]), dict(weighted_metrics=["mae"]),
                                    dict(metrics=["categorical_accuracy"])])
def test_metric_that_cannot_take_the_labels_fails_before_the_first_step(kwargs):
    """Sparse labels (N,) against a (N, 3) output: a regression or one-hot metric cannot compare
    them. The error comes before any step, and again on a second try (nothing half-resolved)."""
    model = trained()
    model.compile(ks.optimizers.Adam(0.1), "sparse_categorical_crossentropy", **kwargs)
    for _ in range(2):
        rejects(model, lambda m: m.fit(X, Y, verbose=0), ValueError, "y_true|shape")


def test_sequence_labels_are_checked_and_class_weight_refused():
    model = ks.Sequential([ks.Input((4, 3)), Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    xs, ys = RNG.normal(size=(6, 4, 3)), RNG.integers(0, 3, (6, 4))
    rejects(model, lambda m: m.fit(xs, ys[:, :3], verbose=0), ValueError, r"y.*\(N, 4\)")
    rejects(model, lambda m: m.fit(xs, ys, class_weight={0: 2.0}, verbose=0), ValueError,
            "class_weight.*sample_weight")
    model.fit(xs, ys[..., None], verbose=0)  # a trailing axis of 1 is fine
    assert model.optimizer.iterations == 1
