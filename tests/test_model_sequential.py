"""Sequential: building, the layer stack, summary, weights in Keras's layout, compile ids."""

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


def small(input_=True):
    layers = [Dense(4, activation="tanh"), Dense(3)]
    return ks.Sequential(([ks.Input((2,))] if input_ else []) + layers)


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


# ----- the stack ---------------------------------------------------------------------------------
def test_list_constructor_with_input_builds_at_once():
    model = small()
    assert model.built
    assert model.input_shape == (None, 2)
    assert model.output_shape == (None, 3)
    assert [w.shape for w in model.get_weights()] == [(2, 4), (4,), (4, 3), (3,)]
    assert model.count_params() == 2 * 4 + 4 + 4 * 3 + 3


def test_input_is_not_a_layer_of_the_model():
    model = small()
    assert len(model.layers) == 2
    assert all(isinstance(layer, Dense) for layer in model.layers)


def test_without_input_builds_from_the_first_data():
    model = small(input_=False)
    assert not model.built
    assert model.get_weights() == []
    with pytest.raises(ValueError, match="not built"):
        model.count_params()
    out = model.predict(np.zeros((5, 7)), verbose=0)
    assert model.built and model.input_shape == (None, 7)
    assert out.shape == (5, 3)
    assert model.get_weights()[0].shape == (7, 4)


def test_without_input_fit_builds_and_trains():
    model = small(input_=False)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 5)), np.zeros((4, 3)), verbose=0)
    assert model.input_shape == (None, 5)
    assert model.optimizer.iterations == 1


def test_add_builds_when_the_input_is_known():
    model = ks.Sequential()
    model.add(ks.Input((3,)))
    model.add(Dense(2))
    assert model.built and model.output_shape == (None, 2)
    model.add(Dense(5, activation="relu"))
    assert model.output_shape == (None, 5)
    assert [w.shape for w in model.get_weights()] == [(3, 2), (2,), (2, 5), (5,)]


def test_add_rejects_non_layers_duplicates_and_late_inputs():
    model = small()
    with pytest.raises(TypeError, match="layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="already"):
        model.add(model.layers[0])
    with pytest.raises(ValueError, match="Input"):
        model.add(ks.Input((2,)))


def test_constructor_rejects_a_non_list():
    with pytest.raises(TypeError, match="layers"):
        ks.Sequential(Dense(2))


def test_pop_removes_the_last_layer_and_rebuilds():
    model = small()
    first = model.get_weights()[:2]
    last = model.pop()
    assert isinstance(last, Dense) and last.units == 3
    assert len(model.layers) == 1
    assert model.output_shape == (None, 4)
    assert same(model.get_weights(), first)  # the remaining layer keeps its weights
    x = np.ones((2, 2))
    assert model.predict(x, verbose=0).shape == (2, 4)
    model.pop()
    with pytest.raises(ValueError, match="pop"):
        model.pop()


def test_pop_then_compile_and_fit_trains_only_the_rest():
    model = small()
    model.pop()
    model.compile("sgd", "mse")
    model.fit(np.ones((3, 2)), np.zeros((3, 4)), verbose=0)
    assert model.optimizer.iterations == 1
    assert len(model.optimizer.buffer) == 2 * 4 + 4


# ----- summary -----------------------------------------------------------------------------------
def test_summary_rows_and_totals():
    frozen = Dense(3, name="frozen_head", trainable=False)
    model = ks.Sequential([ks.Input((2,)), Dense(4, name="hidden"), ks.layers.ReLU(name="act"),
                           frozen], name="net")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "net"'
    rows = {line.split()[0]: line for line in lines if line.split() and
            line.split()[0] in ("hidden", "act", "frozen_head")}
    assert set(rows) == {"hidden", "act", "frozen_head"}
    assert "(None, 4)" in rows["hidden"] and rows["hidden"].rstrip().endswith("12")
    assert "(None, 4)" in rows["act"] and rows["act"].rstrip().endswith("0")
    assert "(None, 3)" in rows["frozen_head"] and rows["frozen_head"].rstrip().endswith("15")
    assert "frozen" in rows["frozen_head"].split("(None")[0]
    assert "Total params: 27" in text
    assert "Trainable params: 12" in text
    assert "Non-trainable params: 15" in text
    assert model.count_params() == 27


def test_summary_prints_to_stdout_by_default(capsys):
    small().summary()
    out = capsys.readouterr().out
    assert "Total params: 27" in out


def test_summary_of_an_unbuilt_model_is_a_clear_error():
    with pytest.raises(ValueError, match="not built"):
        small(input_=False).summary()


# ----- weights -----------------------------------------------------------------------------------
def test_get_weights_is_keras_layout_and_matches_forward():
    model = small()
    w1, b1, w2, b2 = model.get_weights()
    x = np.random.default_rng(0).normal(size=(6, 2))
    expected = np.tanh(x @ w1 + b1) @ w2 + b2   # Dense kernel (in, units): y = x W + b
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-12, atol=1e-12)


def test_get_weights_returns_copies():
    model = small()
    weights = model.get_weights()
    weights[0][...] = 123.0
    assert not np.any(model.get_weights()[0] == 123.0)


def test_set_weights_round_trip_numpy_and_tensors():
    model = small()
    rng = np.random.default_rng(1)
    new = [rng.normal(size=w.shape) for w in model.get_weights()]
    model.set_weights(new)
    assert same(model.get_weights(), new)
    model.set_weights([torch.as_tensor(w) * 2 for w in new])
    assert same(model.get_weights(), [w * 2 for w in new])


def test_set_weights_from_another_model():
    a, b = small(), small()
    b.set_weights(a.get_weights())
    x = np.ones((3, 2))
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))


@pytest.mark.parametrize("change", ["transposed kernel", "last shape", "too few", "too many"])
def test_set_weights_with_wrong_shapes_changes_nothing(change):
    model = small()
    model.compile("sgd", "mse")
    before = model.get_weights()
    new = [np.full(w.shape, 7.0) for w in before]
    if change == "transposed kernel":
        new[2] = new[2].T
    elif change == "last shape":
        new[3] = np.zeros(4)
    elif change == "too few":
        new = new[:3]
    else:
        new = new + [np.zeros(1)]
    with pytest.raises(ValueError, match="weights|shape"):
        model.set_weights(new)
    assert same(model.get_weights(), before)


def test_set_weights_on_an_unbuilt_model_is_a_clear_error():
    with pytest.raises(ValueError, match="not built"):
        small(input_=False).set_weights([])


def test_set_weights_keeps_the_flat_buffer_views():
    """set_weights copies in place: the optimizer still updates the same storage afterwards."""
    model = small()
    model.compile(ks.optimizers.SGD(0.1), "mse")
    model.set_weights([np.zeros(w.shape) for w in model.get_weights()])
    model.fit(np.ones((2, 2)), np.ones((2, 3)), verbose=0)
    assert np.any(model.get_weights()[3] != 0)  # the output bias moved


# ----- compile ------------------------------------------------------------------------------------
@pytest.mark.parametrize("opt, cls", [("sgd", "SGD"), ("adam", "Adam"), ("adamw", "AdamW"),
                                      ("rmsprop", "RMSprop"), ("adagrad", "Adagrad")])
def test_compile_with_optimizer_ids(opt, cls):
    model = small()
    model.compile(opt, "mse")
    assert type(model.optimizer).__name__ == cls


def test_compile_with_objects():
    model = small()
    opt, loss = ks.optimizers.SGD(0.5, momentum=0.9), ks.losses.MeanAbsoluteError()
    metric = ks.metrics.MeanSquaredError(name="my_mse")
    model.compile(opt, loss, metrics=[metric])
    assert model.optimizer is opt and model.loss is loss
    model.fit(np.ones((4, 2)), np.zeros((4, 3)), verbose=0)
    assert model.metrics_names == ["loss", "my_mse"]


def test_compile_default_optimizer_is_rmsprop_like_keras():
    model = small()
    model.compile(loss="mse")
    assert type(model.optimizer).__name__ == "RMSprop"


@pytest.mark.parametrize("kwargs, word", [
    (dict(optimizer="sgdd", loss="mse"), "optimizer"),
    (dict(optimizer="sgd", loss="mean_squared_erorr"), "loss"),
    (dict(optimizer="sgd", loss="mse", metrics=["acuracy"]), "metric"),
    (dict(optimizer="sgd", loss="mse", weighted_metrics=["msee"]), "metric"),
])
def test_compile_unknown_ids_list_the_valid_ones(kwargs, word):
    model = small()
    with pytest.raises(ValueError, match=word) as info:
        model.compile(**kwargs)
    message = str(info.value)
    assert "mse" in message or "sgd" in message  # the valid ids are listed
    assert not model.compiled


def test_failed_compile_keeps_the_previous_settings():
    model = small()
    model.compile("sgd", "mse")
    opt = model.optimizer
    with pytest.raises(ValueError):
        model.compile("adam", "not_a_loss")
    assert model.optimizer is opt and isinstance(model.loss, ks.losses.MeanSquaredError)


def test_a_frozen_model_compiles_and_evaluates_but_does_not_fit():
    # Keras compiles a frozen model (to evaluate it); a fit that cannot learn is refused here
    model = ks.Sequential([ks.Input((2,)), Dense(3, trainable=False)])
    model.compile("sgd", "mse", metrics=["mae"])
    x, y = np.ones((4, 2)), np.full((4, 3), 5.0)
    before = model.get_weights()
    loss, mae = model.evaluate(x, y, verbose=0)
    assert loss > 0 and mae > 0
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.train_on_batch(x, y)):
        with pytest.raises(ValueError, match=r"no trainable weights, so (fit|train_on_batch)\(\) "
                                             r"would change nothing.*evaluate"):
            call()
    assert same(model.get_weights(), before) and model.history is None
    model.layers[0].trainable = True  # unfrozen after that compile: fit builds the optimizer
    model.fit(x, y, verbose=0)
    assert not same(model.get_weights(), before)


def test_a_frozen_unbuilt_model_is_refused_by_fit_before_building():
    model = ks.Sequential([Dense(3, trainable=False), Dense(2, trainable=False)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="no trainable weights"):
        model.fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0)
    assert not model.built
    model.layers[1].trainable = True  # unfreeze one layer, compile again: it trains
    model.compile(ks.optimizers.SGD(0.1), "mse")
    model.fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0)
    assert model.built and len(model.trainable_weights) == 2


def test_freezing_a_layer_then_recompiling_trains_only_the_rest():
    model = small()
    model.layers[0].trainable = False
    model.compile(ks.optimizers.SGD(0.1), "mse")
    before = model.get_weights()
    model.fit(np.ones((4, 2)), np.full((4, 3), 5.0), verbose=0)
    after = model.get_weights()
    assert same(after[:2], before[:2])
    assert not np.array_equal(after[2], before[2])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 12" in lines
