"""Saving: model.save / load_model round trip (predictions, compile settings, optimizer state),
save_weights / load_weights, architecture mismatches, atomic writes, and files that would run code."""

import os
import pickle

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 3))
Y = np.arange(12) % 3


def net(hidden=4, seed=0, extra=False):
    ks.utils.set_random_seed(seed)
    layers = [ks.Input((3,)), Dense(hidden, activation="tanh")]
    if extra:
        layers.append(Dense(hidden, activation="relu"))
    return ks.Sequential(layers + [Dense(3, activation="softmax")], name="net")


def trained(optimizer=None, **compile_kwargs):
    model = net()
    model.compile(optimizer or ks.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  **compile_kwargs)
    model.fit(X, Y, epochs=2, batch_size=5, shuffle=False, verbose=0)
    return model


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def files_in(folder):
    return sorted(os.listdir(folder))


# ----- model.save / load_model ------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", [
    ks.optimizers.Adam(0.05, amsgrad=True),
    ks.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    ks.optimizers.RMSprop(0.01),
    ks.optimizers.AdamW(ks.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5), clipnorm=1.0),
], ids=["adam", "sgd", "rmsprop", "adamw-schedule"])
def test_round_trip_then_continued_training_matches(tmp_path, optimizer):
    model = trained(optimizer, metrics=["accuracy"], weighted_metrics=["sparse_categorical_accuracy"])
    path = tmp_path / "model.kst"
    model.save(path)
    loaded = ks.models.load_model(path)

    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    for k, v in model.optimizer._slots.items():
        assert torch.equal(loaded.optimizer._slots[k], v)
    assert loaded.loss.get_config() == model.loss.get_config()
    assert type(loaded.loss) is type(model.loss)
    assert loaded.evaluate(X, Y, verbose=0, return_dict=True) == \
        model.evaluate(X, Y, verbose=0, return_dict=True)
    assert loaded.metrics_names == model.metrics_names == ["loss", "accuracy",
                                                           "sparse_categorical_accuracy"]

    h1 = model.fit(X, Y, epochs=1, batch_size=5, shuffle=False, verbose=0)
    h2 = loaded.fit(X, Y, epochs=1, batch_size=5, shuffle=False, verbose=0)
    assert same(loaded.get_weights(), model.get_weights())
    assert h1.history == h2.history


def test_loaded_model_keeps_architecture_and_names(tmp_path):
    model = net(extra=True)
    model.save(tmp_path / "m")
    loaded = ks.models.load_model(tmp_path / "m")
    assert loaded.name == "net"
    assert [type(layer).__name__ for layer in loaded.layers] == ["Dense"] * 3
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.input_shape == (None, 3) and loaded.output_shape == (None, 3)
    assert [layer.activation.name for layer in loaded.layers] == ["tanh", "relu", "softmax"]
    assert not loaded.compiled
    assert same(loaded.get_weights(), model.get_weights())


def test_load_model_without_compile(tmp_path):
    model = trained()
    model.save(tmp_path / "m")
    loaded = ks.models.load_model(tmp_path / "m", compile=False)
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_frozen_layers_stay_frozen(tmp_path):
    model = net()
    model.layers[0].trainable = False
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.save(tmp_path / "m")
    loaded = ks.models.load_model(tmp_path / "m")
    assert [layer.trainable for layer in loaded.layers] == [False, True]
    before = loaded.get_weights()
    loaded.fit(X, Y, verbose=0)
    assert same(loaded.get_weights()[:2], before[:2])


def test_float64_model_in_a_float32_session_round_trips_exactly(tmp_path):
    ks.config.set_floatx("float32")
    model = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(3)])
    model.compile(ks.optimizers.Adam(0.01), "mse")
    model.to(torch.float64)
    model.fit(X, np.eye(3)[Y], epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m")
    loaded = ks.models.load_model(tmp_path / "m")
    assert loaded.dtype == torch.float64
    assert all(w.dtype == np.float64 for w in loaded.get_weights())
    assert same(loaded.get_weights(), model.get_weights())
    assert loaded.optimizer._slots["momentum"].dtype == torch.float64
    model.fit(X, np.eye(3)[Y], epochs=1, batch_size=4, shuffle=False, verbose=0)
    loaded.fit(X, np.eye(3)[Y], epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert same(loaded.get_weights(), model.get_weights())


def test_save_an_unbuilt_model_is_a_clear_error(tmp_path):
    model = ks.Sequential([Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        model.save(tmp_path / "m")
    assert files_in(tmp_path) == []


def test_save_creates_the_folder_and_overwrites(tmp_path):
    path = tmp_path / "deep" / "er" / "m"
    a, b = trained(), net(seed=1)
    a.save(str(path))
    b.save(path)
    assert same(ks.models.load_model(path).get_weights(), b.get_weights())
    assert files_in(path.parent) == ["m"]


# ----- save_weights / load_weights -----------------------------------------------------------------
def test_weights_round_trip(tmp_path):
    a, b = trained(), net(seed=7)
    a.save_weights(tmp_path / "w")
    assert not same(a.get_weights(), b.get_weights())
    b.load_weights(tmp_path / "w")
    assert same(a.get_weights(), b.get_weights())
    np.testing.assert_array_equal(a.predict(X, verbose=0), b.predict(X, verbose=0))


def test_load_weights_from_a_full_model_file(tmp_path):
    a, b = trained(), net(seed=7)
    a.save(tmp_path / "m")
    b.load_weights(tmp_path / "m")
    assert same(a.get_weights(), b.get_weights())


def test_load_weights_keeps_the_flat_buffer_in_use(tmp_path):
    a, b = trained(), net(seed=7)
    a.save_weights(tmp_path / "w")
    b.compile(ks.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    b.load_weights(tmp_path / "w")
    b.fit(X, Y, shuffle=False, verbose=0)  # the optimizer steps the loaded values
    assert not same(a.get_weights(), b.get_weights())
    c = net(seed=9)
    c.load_weights(tmp_path / "w")
    c.compile(ks.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    c.fit(X, Y, shuffle=False, verbose=0)
    assert same(b.get_weights(), c.get_weights())


@pytest.mark.parametrize("other, match", [
    (dict(hidden=5), r"weight 0 \('net_a_dense/kernel'.*\(3, 4\).*'net_b_dense/kernel' "
                     r"expects \(3, 5\)"),
    (dict(extra=True), r"weight 2 .*\(4, 3\).*expects \(4, 4\)"),
])
def test_loading_weights_of_another_architecture_names_the_first_mismatch(tmp_path, other, match):
    a = ks.Sequential([ks.Input((3,)), Dense(4, name="net_a_dense"), Dense(3)])
    b_layers = [ks.Input((3,)), Dense(other.get("hidden", 4), name="net_b_dense")]
    if other.get("extra"):
        b_layers.append(Dense(4))
    b = ks.Sequential(b_layers + [Dense(3)])
    a.save_weights(tmp_path / "w")
    before = b.get_weights()
    with pytest.raises(ValueError, match=match):
        b.load_weights(tmp_path / "w")
    assert same(b.get_weights(), before)


def test_loading_fewer_or_more_weights_names_the_first_missing_or_extra(tmp_path):
    small = ks.Sequential([ks.Input((3,)), Dense(3, name="only")])
    big = ks.Sequential([ks.Input((3,)), Dense(3, name="first"), Dense(3, name="second")])
    small.save_weights(tmp_path / "small")
    big.save_weights(tmp_path / "big")
    with pytest.raises(ValueError, match="first missing: 'second/kernel'"):
        big.load_weights(tmp_path / "small")
    with pytest.raises(ValueError, match="first extra: 'second/kernel'"):
        small.load_weights(tmp_path / "big")


def test_load_model_of_another_architecture_file_kind(tmp_path):
    trained().save_weights(tmp_path / "w")
    with pytest.raises(ValueError, match="not a kerasette model"):
        ks.models.load_model(tmp_path / "w")
    torch.save({"some": torch.zeros(2)}, tmp_path / "plain")
    with pytest.raises(ValueError, match="not a kerasette"):
        ks.models.load_model(tmp_path / "plain")
    with pytest.raises(ValueError, match="not a kerasette"):
        net().load_weights(tmp_path / "plain")


# ----- atomic writes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["save", "save_weights"])
@pytest.mark.parametrize("failure", ["torch.save", "os.replace"])
def test_failed_write_keeps_the_previous_file_and_leaves_no_temp(tmp_path, monkeypatch, method,
                                                                 failure):
    old, new = trained(), net(seed=3)
    path = tmp_path / "m"
    getattr(old, method)(path)
    original_bytes = path.read_bytes()

    if failure == "torch.save":
        real_save = torch.save

        def broken_save(obj, f, *args, **kwargs):
            real_save({"half": torch.zeros(1000)}, f)  # some bytes reach the file first
            raise OSError("disk full")
        monkeypatch.setattr(torch, "save", broken_save)
    else:
        def broken_replace(src, dst):
            raise OSError("rename failed")
        monkeypatch.setattr(os, "replace", broken_replace)

    with pytest.raises(OSError):
        getattr(new, method)(path)
    monkeypatch.undo()
    assert files_in(tmp_path) == ["m"]  # no temporary file left behind
    assert path.read_bytes() == original_bytes
    probe = net(seed=5)
    probe.load_weights(path)
    assert same(probe.get_weights(), old.get_weights())


def test_interrupted_write_is_cleaned_up(tmp_path, monkeypatch):
    def interrupted(obj, f, *args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trained().save(tmp_path / "m")
    assert files_in(tmp_path) == []


# ----- files that would run code ----------------------------------------------------------------
class WritesMarker:
    """Unpickling this object calls open(marker, "w"): it creates a file, i.e. runs code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def crafted(tmp_path, name, marker, fmt):
    path = tmp_path / name
    payload = {"format": "kerasette.model", "version": 1, "config": "{}",
               "weights": [torch.zeros(2)], "evil": WritesMarker(marker)}
    if fmt == "torch":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f, protocol=2)
    return path


@pytest.mark.parametrize("fmt", ["torch", "pickle"])
def test_crafted_file_would_run_code_when_unpickled_blindly(tmp_path, fmt):
    """The control: the crafted file really executes code when loaded without restrictions."""
    marker = tmp_path / "ran"
    path = crafted(tmp_path, "evil", marker, fmt)
    if fmt == "torch":
        torch.load(path, weights_only=False)
    else:
        with open(path, "rb") as f:
            pickle.load(f)
    assert marker.exists()


@pytest.mark.parametrize("fmt", ["torch", "pickle"])
@pytest.mark.parametrize("loader", ["load_model", "load_weights"])
def test_crafted_file_is_refused_and_nothing_runs(tmp_path, fmt, loader):
    marker = tmp_path / "pwned"
    path = crafted(tmp_path, "evil", marker, fmt)
    model = net()
    before = model.get_weights()
    with pytest.raises(ValueError, match="Refused to load"):
        if loader == "load_model":
            ks.models.load_model(path)
        else:
            model.load_weights(path)
    assert not marker.exists()
    assert same(model.get_weights(), before)
