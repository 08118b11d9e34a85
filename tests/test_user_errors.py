"""What a Keras user gets wrong, tried on a model that has already taken a step: each mistake is a
ValueError / TypeError that names the argument, the expected and the received value (never a raw
NumPy / torch error or an AttributeError from deep inside), and leaves weights and optimizer as
they were."""

import numpy as np
import pytest
import torch

import kerasette as keras
from kerasette import layers

RNG = np.random.default_rng(0)
X = RNG.random((20, 4)).astype("float32")
Y = (RNG.random(20) > 0.5).astype("float32")


def trained():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, Y, batch_size=10, verbose=0)
    return model


def state(model):
    opt = model.optimizer
    return (model.get_weights(), opt.iterations,
            {k: v.clone() for k, v in opt._slots.items()})


def rejects(call, exc, match, model=None):
    """`call(model)` raises `exc` matching `match`; the model's weights and optimizer are intact."""
    model = trained() if model is None else model
    weights, iterations, slots = state(model)
    with pytest.raises(exc, match=match):
        call(model)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert model.optimizer.iterations == iterations
    assert all(torch.equal(model.optimizer._slots[k], v) for k, v in slots.items())


# ----- data ---------------------------------------------------------------------------------------
def test_ragged_lists_name_the_argument():
    ragged = [[0.1, 0.2, 0.3, 0.4], [0.1, 0.2]]
    rejects(lambda m: m.fit(ragged, [0, 1], verbose=0), ValueError, "Invalid x: .*same shape")
    rejects(lambda m: m.fit(X[:2], [[1], [0, 1]], verbose=0), ValueError, "Invalid y: .*same shape")
    rejects(lambda m: m.predict(ragged, verbose=0), ValueError, "Invalid x: .*same shape")


# ----- compile ------------------------------------------------------------------------------------
@pytest.mark.parametrize("arg", ["metrics", "weighted_metrics"])
def test_none_in_a_metric_list_names_the_argument(arg):
    # was an AttributeError ('NoneType' object has no attribute 'name') at the first fit
    rejects(lambda m: m.compile("adam", "binary_crossentropy", **{arg: ["mae", None]}), TypeError,
            f"Invalid {arg}: .*None")


@pytest.mark.parametrize("class_weight, match", [
    ({0: -1.0, 1: 2.0}, r"class_weight: weights must be finite numbers >= 0, received \[-1\.0\]"),
    ({0: float("nan"), 1: 2.0}, "class_weight: weights .*nan"),
    ({0: "1", 1: 2.0}, "class_weight: weights .*'1'"),
    ({0.5: 1.0}, r"class_weight: keys .*\[0\.5\]"),
    ({"0": 1.0}, "class_weight: keys .*'0'"),
])
def test_bad_class_weights_are_refused(class_weight, match):
    rejects(lambda m: m.fit(X, Y, class_weight=class_weight, verbose=0), ValueError, match)
    rejects(lambda m: m.train_on_batch(X, Y, class_weight=class_weight), ValueError, match)


@pytest.mark.parametrize("loss", ["categorical_crossentropy",
                                  keras.losses.CategoricalCrossentropy(from_logits=True)])
def test_categorical_crossentropy_on_one_output_unit_is_refused(loss):
    # Keras 3 only warns, then trains on a loss that is always 0
    model = trained()
    model.compile("adam", loss)
    match = "Invalid loss: .*one output unit per class.*binary_crossentropy"
    rejects(lambda m: m.fit(X, Y, verbose=0), ValueError, match, model)
    rejects(lambda m: m.evaluate(X, Y, verbose=0), ValueError, match, model)
    rejects(lambda m: m.train_on_batch(X, Y), ValueError, match, model)


def custom_mean_squared_error(y_true, y_pred):  # the training guide's custom loss
    return ((y_true - y_pred) ** 2).mean()


def test_a_loss_function_that_cannot_be_traced_fails_before_the_first_step():
    # the training guide's function uses a tensor method: traced on symbolic tensors it cannot run
    model = trained()
    model.compile("adam", custom_mean_squared_error)
    match = r"'custom_mean_squared_error' could not be traced.*ks\.ops\.mean\(x\), not x\.mean"
    rejects(lambda m: m.fit(X, Y, verbose=0), TypeError, match, model)


@pytest.mark.parametrize("loss, match", [
    (torch.nn.MSELoss(), "PyTorch's MSELoss.*no autograd.*the same loss here is 'mse'"),
    (torch.nn.CrossEntropyLoss, "PyTorch's CrossEntropyLoss.*SparseCategoricalCrossentropy"),
    (dict, "the class dict, which is not a kerasette Loss"),
])
def test_losses_kerasette_cannot_differentiate_say_why(loss, match):
    rejects(lambda m: m.compile("adam", loss), TypeError, "Invalid loss: .*received " + match)


@pytest.mark.parametrize("optimizer, match", [
    (torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1),
     r"PyTorch's SGD, which steps on autograd gradients.*ks\.optimizers\.SGD"),
    (torch.optim.Adam, "PyTorch's Adam"),
    (keras.losses.MeanSquaredError, "the class MeanSquaredError, which is not a kerasette Opt"),
])
def test_optimizers_from_elsewhere_say_why(optimizer, match):
    rejects(lambda m: m.compile(optimizer, "mse"), TypeError, "Invalid optimizer: .*" + match)


def test_an_optimizer_or_loss_class_is_instantiated_with_defaults():
    # Keras instantiates a loss class; kerasette does the same for optimizer classes (Keras 3
    # refuses those; nothing is lost by accepting them)
    model = trained()
    model.compile(keras.optimizers.Adam, keras.losses.BinaryCrossentropy)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.learning_rate == 0.001
    assert model.fit(X, Y, verbose=0).history["loss"][0] > 0


# ----- fit arguments ------------------------------------------------------------------------------
def test_a_callback_class_instead_of_an_instance_says_so():
    rejects(lambda m: m.fit(X, Y, verbose=0, callbacks=[keras.callbacks.EarlyStopping]),
            TypeError, r"Invalid callbacks: .*the class EarlyStopping itself; create one: "
                       r"EarlyStopping\(\.\.\.\)")
    rejects(lambda m: m.evaluate(X, Y, verbose=0, callbacks=[keras.callbacks.History]),
            TypeError, "Invalid callbacks: .*the class History")
    rejects(lambda m: m.fit(X, Y, verbose=0, callbacks=[print]), TypeError,
            "Invalid callbacks: .*builtin_function_or_method")


def test_one_dimensional_x_on_an_unbuilt_model_names_x():
    def unbuilt():
        model = keras.Sequential([layers.Dense(8), layers.Dense(1)])
        model.compile("adam", "mse")
        return model

    for call in (lambda m: m.fit(X[:, 0], Y, verbose=0), lambda m: m.predict(X[:, 0], verbose=0),
                 lambda m: m(torch.as_tensor(X[:, 0]))):
        model = unbuilt()
        with pytest.raises(ValueError, match=r"Invalid x: .*\(20,\).*x\.reshape\(-1, 1\)"):
            call(model)
        assert not model.built
        model.fit(X, Y, verbose=0)  # the right data still builds it
        assert model.input_shape == (None, 4)


# ----- files --------------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"hello", b"PK\x03\x04 not a zip", b""])
def test_loading_a_file_that_is_not_a_kerasette_file(tmp_path, content):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"Invalid file {path}: not a file written by model.save"):
        keras.models.load_model(path)
    rejects(lambda m: m.load_weights(path), ValueError, "Invalid file")


def test_saving_onto_a_folder_names_it_and_writes_nothing_next_to_it(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for save in (lambda m: m.save(folder), lambda m: m.save_weights(folder)):
        rejects(save, ValueError, "Invalid filepath: .*checkpoints' is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoints"]
    assert list(folder.iterdir()) == []


def test_moving_to_cuda_without_cuda_names_the_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0", torch.device("cuda")):
        rejects(lambda m, d=device: m.to(d), ValueError, "Invalid device: cuda.* not available")
    model = trained()
    with pytest.raises(ValueError):
        model.to("cuda")
    assert model.device == torch.device("cpu")
    assert model.fit(X, Y, verbose=0).history["loss"]


# ----- layers -------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation, hint", [
    (torch.relu, "use the name 'relu'"),
    (torch.nn.GELU(), "use the name 'gelu'"),
    (lambda z: z * torch.sigmoid(z), r"only ks.ops with a gradient.*not torch functions"),
])
def test_an_activation_function_kerasette_cannot_differentiate_says_why(activation, hint):
    with pytest.raises(TypeError, match="Invalid activation: .*could not be traced.*" + hint):
        layers.Dense(2, activation=activation)
    with pytest.raises(TypeError, match="Invalid activation: .*" + hint):
        layers.Activation(activation)


# ----- the usual mistakes, one line each (most were already right; kept as a checklist) ----------
FLAT = keras.Sequential([keras.Input((2, 3)), layers.Flatten(), layers.Dense(1)])
MISTAKES = {
    "loss typo": (lambda m: m.compile("adam", "binary_crossentropyy"), ValueError,
                  "Unknown loss: 'binary_crossentropyy'"),
    "optimizer typo": (lambda m: m.compile("adamm", "mse"), ValueError, "optimizer.*'adamm'"),
    "metric typo": (lambda m: m.compile("adam", "mse", metrics=["acuracy"]), ValueError,
                    "Invalid metric.*received 'acuracy'"),
    "string labels": (lambda m: m.fit(X, np.array(["yes", "no"] * 10), verbose=0), TypeError,
                      "Invalid y: expected numeric data"),
    "y too short": (lambda m: m.fit(X, Y[:15], verbose=0), ValueError,
                    "Invalid y: expected 20 samples to match x, received 15"),
    "validation y too short": (lambda m: m.fit(X, Y, validation_data=(X, Y[:5]), verbose=0),
                               ValueError, "Invalid validation_data y: expected 20 samples"),
    "1-D x": (lambda m: m.fit(X[:, 0], Y, verbose=0), ValueError,
              r"Invalid x: .*\(None, 4\), received \(20,\)"),
    "too many features": (lambda m: m.predict(np.ones((3, 5)), verbose=0), ValueError,
                          r"Invalid x: .*\(None, 4\), received \(3, 5\)"),
    "epochs as a float": (lambda m: m.fit(X, Y, epochs=2.0, verbose=0), TypeError,
                          r"Invalid epochs: expected a non-negative int, received 2\.0"),
    "callbacks not a list": (lambda m: m.fit(X, Y, callbacks="early", verbose=0), TypeError,
                             "Invalid callbacks"),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_usual_mistakes(name):
    call, exc, match = MISTAKES[name]
    rejects(call, exc, match)


def test_shapes_after_flatten_and_an_uncompiled_fit():
    with pytest.raises(ValueError, match=r"Invalid x: .*\(None, 2, 3\), received \(4, 3, 2\)"):
        FLAT.predict(np.ones((4, 3, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"'dense.*/kernel' expects shape \(6, 1\)"):
        FLAT.set_weights([np.ones((5, 1)), np.zeros(1)])
    with pytest.raises(ValueError, match=r"compile\(optimizer=\.\.\., loss=\.\.\.\) before fit"):
        FLAT.fit(np.ones((4, 2, 3)), np.ones(4), verbose=0)


def test_what_keras_accepts_and_kerasette_too():
    model = trained()
    assert model.fit(X, Y, batch_size=1000, verbose=0).params["steps"] == 1  # one short batch
    assert model.fit(X, Y, epochs=0, verbose=0).history == {}
    model.compile("adam", "binary_crossentropy", metrics="accuracy")  # Keras wants a list
    assert model.fit(X, Y, verbose=0).history.keys() == {"loss", "accuracy"}
