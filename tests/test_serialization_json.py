"""to_json / model_from_json, clone_model, ks.saving.register_keras_serializable and custom_objects
(Keras 3.15 semantics: registered names "package>name", clones with fresh weights, not compiled)."""

import json

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense


@ks.saving.register_keras_serializable(package="ser_test")
class Residual(ks.layers.Layer):
    """A composite custom layer: x + Dense(units)(relu(Dense(units)(x)))."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner, self.outer = Dense(units, activation="relu"), Dense(units)

    def call(self, inputs, training=False):
        return inputs + self.outer(self.inner(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Unregistered(Residual):
    pass


@ks.saving.register_keras_serializable(package="ser_test", name="scaled_mse")
class ScaledMSE(ks.losses.MeanSquaredError):
    def __init__(self, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def _terms(self, y_true, y_pred):
        terms, grad = super()._terms(y_true, y_pred)
        return terms * self.scale, lambda c: grad(c * self.scale)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@ks.saving.register_keras_serializable(package="ser_test")
class MaxAbsError(ks.metrics.Metric):
    def __init__(self, name="max_abs_error", **kwargs):
        super().__init__(name=name, **kwargs)
        self.worst = self.add_variable(shape=(), initializer="zeros", name="worst")

    def update_state(self, y_true, y_pred, sample_weight=None):
        err = (torch.as_tensor(y_pred) - torch.as_tensor(y_true).reshape(y_pred.shape)).abs().max()
        self.worst.assign(torch.maximum(self.worst.value, err.to(self.worst.value.dtype)))

    def result(self):
        return self.worst.value


class TwoTower(ks.Model):
    """A subclassed model with its constructor arguments in get_config."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden, self.head = Dense(units, activation="tanh"), Dense(1)

    def call(self, inputs, training=False):
        return self.head(self.hidden(inputs))

    def get_config(self):
        return {"name": self.name, "units": self.units}


def sequential():
    return ks.Sequential([Dense(8, input_dim=3, activation="relu"), Dense(1)])


def functional():
    a, b = ks.Input((3,), name="a"), ks.Input((2,), name="b")
    shared = Dense(4, name="shared")
    h = ks.layers.Concatenate()([shared(a), Dense(4)(b)])
    return ks.Model([a, b], {"out": Dense(1, name="out")(h), "aux": shared(a)})


def data(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g), torch.randn(n, 2, generator=g), torch.randn(n, 1, generator=g)


@pytest.mark.parametrize("make", [sequential, functional])
def test_to_json_round_trip_rebuilds_same_architecture(make):
    model = make()
    text = model.to_json()
    arch = json.loads(text)
    assert arch["class_name"] in ("Sequential", "Model") and "config" in arch
    clone = ks.models.model_from_json(text)
    assert type(clone) is type(model)
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert clone.to_json() == text  # the same graph
    clone.set_weights(model.get_weights())
    xa, xb, _ = data()
    x = xa if make is sequential else [xa, xb]
    out, out2 = model.predict(x, verbose=0), clone.predict(x, verbose=0)
    if isinstance(out, dict):
        for k in out:
            np.testing.assert_array_equal(out[k], out2[k])
    else:
        np.testing.assert_array_equal(out, out2)
    assert "indent" not in text and "\n" in model.to_json(indent=2)


def test_registered_layer_in_json_and_custom_objects():
    x = ks.Input((4,))
    model = ks.Model(x, Dense(1)(Residual(4, name="res")(x)))
    arch = json.loads(model.to_json())
    spec = [s for s in arch["config"]["layers"] if s["class_name"] == "Residual"][0]
    assert spec["registered_name"] == "ser_test>Residual"
    assert ks.saving.get_registered_name(Residual) == "ser_test>Residual"
    assert ks.saving.get_registered_object("ser_test>Residual") is Residual
    clone = ks.models.model_from_json(model.to_json())
    assert type(clone.get_layer("res")) is Residual

    # an unregistered class: written with its module, as Keras does, and found there when read
    # (this test module is loaded); a text without the module needs custom_objects
    y = ks.Input((4,))
    plain = ks.Model(y, Unregistered(4, name="u")(y))
    spec = [s for s in json.loads(plain.to_json())["config"]["layers"]
            if s["class_name"] == "Unregistered"][0]
    assert spec["module"] == __name__ and "registered_name" not in spec
    assert type(ks.models.model_from_json(plain.to_json()).get_layer("u")) is Unregistered
    text = json.dumps({"class_name": "Sequential", "config": {
        "name": "s", "input_shape": [4],
        "layers": [{"class_name": "Unregistered", "config": {"name": "u", "units": 4}}]}})
    with pytest.raises(ValueError, match="custom_objects"):
        ks.models.model_from_json(text)
    model = ks.models.model_from_json(text, custom_objects={"Unregistered": Unregistered})
    assert type(model.layers[0]) is Unregistered
    with ks.saving.custom_object_scope({"Unregistered": Unregistered}):
        assert type(ks.models.model_from_json(text).layers[0]) is Unregistered


def test_register_refuses_a_class_without_get_config_and_bad_arguments():
    with pytest.raises(ValueError, match="get_config"):
        ks.saving.register_keras_serializable()(type("NoConfig", (), {}))
    with pytest.raises(ValueError, match="package"):
        ks.saving.register_keras_serializable(package="")
    with pytest.raises(TypeError, match="json_string"):
        ks.models.model_from_json({"class_name": "Sequential"})
    with pytest.raises(ValueError, match="json_string"):
        ks.models.model_from_json("{not json")


def test_custom_layer_loss_and_metric_survive_save_and_load(tmp_path):
    x = ks.Input((3,))
    model = ks.Model(x, Dense(1)(Residual(3)(x)))
    model.compile(optimizer="adam", loss=ScaledMSE(scale=3.0), metrics=[MaxAbsError()])
    xa, _, y = data()
    model.fit(xa, y, epochs=2, verbose=0)
    path = tmp_path / "m.kst"
    ks.saving.save_model(model, path)
    loaded = ks.saving.load_model(path)
    assert isinstance(loaded.loss, ScaledMSE) and loaded.loss.scale == 3.0
    np.testing.assert_allclose(loaded.predict(xa, verbose=0), model.predict(xa, verbose=0))
    assert model.evaluate(xa, y, verbose=0, return_dict=True) == pytest.approx(
        loaded.evaluate(xa, y, verbose=0, return_dict=True))
    loaded.fit(xa, y, epochs=1, verbose=0)  # compiled, with its optimizer state
    with pytest.raises(FileExistsError, match="overwrite"):
        ks.saving.save_model(model, path, overwrite=False)


def test_subclassed_model_round_trips_through_config_and_file(tmp_path):
    model = TwoTower(units=5, name="tt")
    xa, _, y = data()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(xa, y, epochs=1, verbose=0)
    rebuilt = TwoTower.from_config(model.get_config())
    assert rebuilt.units == 5 and rebuilt.name == "tt"
    path = tmp_path / "tt.kst"
    model.save(path)
    assert type(ks.models.load_model(path)) is TwoTower  # found in its module, loaded here
    elsewhere = json.loads(model.to_json())
    assert elsewhere["module"] == __name__
    elsewhere["module"] = "a_module_this_program_never_imported"
    with pytest.raises(ValueError, match="TwoTower"):
        ks.models.model_from_json(json.dumps(elsewhere))
    loaded = ks.models.load_model(path, custom_objects={"TwoTower": TwoTower})
    assert type(loaded) is TwoTower
    np.testing.assert_allclose(loaded.predict(xa, verbose=0), model.predict(xa, verbose=0))
    arch = json.loads(model.to_json())
    assert arch["config"] == {"name": "tt", "units": 5}
    assert arch["build_config"] == {"input_shape": [None, 3]}
    from_json = ks.models.model_from_json(model.to_json(), custom_objects={"TwoTower": TwoTower})
    assert from_json.built and [w.shape for w in from_json.weights] == [w.shape for w in model.weights]


@pytest.mark.parametrize("make", [sequential, functional])
def test_clone_model_fresh_weights_same_architecture_not_compiled(make):
    model = make()
    model.compile(optimizer="adam", loss="mse")
    clone = ks.models.clone_model(model)
    assert not clone.compiled and clone.built
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert not torch.equal(clone.weights[0].value, model.weights[0].value)  # fresh initialisation
    assert clone.to_json() == model.to_json()


def test_clone_model_shared_layer_once_and_clone_function():
    model = functional()
    clone = ks.models.clone_model(model)
    assert len(clone.weights) == len(model.weights)  # the shared Dense cloned once, still shared
    calls = []

    def rename(layer):
        calls.append(layer.name)
        return type(layer).from_config({**layer.get_config(), "name": "c_" + layer.name})

    clone = ks.models.clone_model(model, clone_function=rename)
    assert clone.get_layer("c_shared") is not None and "a" not in calls  # inputs are not passed
    seq = ks.models.clone_model(sequential(), clone_function=rename)
    assert [layer.name for layer in seq.layers][0].startswith("c_")


def test_clone_subclassed_model_and_refusals():
    model = TwoTower(units=3)
    clone = ks.models.clone_model(model)
    assert type(clone) is TwoTower and clone.units == 3 and clone is not model
    with pytest.raises(ValueError, match="clone_function"):
        ks.models.clone_model(model, clone_function=lambda layer: layer)
    with pytest.raises(ValueError, match="input_tensors"):
        ks.models.clone_model(sequential(), input_tensors=[ks.Input((3,))])
    with pytest.raises(TypeError, match="clone_function"):
        ks.models.clone_model(sequential(), clone_function=3)
