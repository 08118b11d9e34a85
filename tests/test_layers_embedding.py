"""Embedding: forward equal to F.embedding (integer and whole-number float indices), the scatter-add
gradient against torch autograd and central differences (float64), Hypothesis shapes incl. batch 1,
a 20-step fit equal to autograd, Keras's weight layout, save / load, and bad arguments / inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette import layers
from kerasette.random_state import make_generator
from kerasette.testing import numeric_gradient, relative_error

LR = 0.1  # the trajectory tests' SGD learning rate
SETTINGS = settings(max_examples=25, deadline=None)

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


@SETTINGS
@given(batch=st.sampled_from([1, 2, 5]), inner=st.lists(st.integers(1, 4), max_size=2),
       input_dim=st.integers(1, 7), output_dim=st.integers(1, 4), as_float=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_forward_and_gradient_match_autograd_and_finite_differences(
        batch, inner, input_dim, output_dim, as_float, seed):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, input_dim, (batch, *inner), generator=g)
    layer = layers.Embedding(input_dim, output_dim,
                             embeddings_initializer=ks.initializers.RandomNormal(seed=seed))
    x = idx.to(torch.float64) if as_float else idx
    y = layer(x)
    W = layer.embeddings.value
    torch.testing.assert_close(y, F.embedding(idx, W))
    assert y.shape == (batch, *inner, output_dim)
    assert layer.compute_output_shape((None, *inner)) == (None, *inner, output_dim)
    r = torch.randn(y.shape, generator=make_generator(seed), dtype=torch.float64)
    _, backward = layer.forward(x)
    dx = backward(r)
    assert dx.shape == x.shape and not dx.any()               # the indices have no gradient
    leaf = W.clone().requires_grad_(True)
    (dW_ref,) = torch.autograd.grad(F.embedding(idx, leaf), leaf, r)
    torch.testing.assert_close(layer.embeddings.grad, dW_ref)
    numeric = numeric_gradient(lambda: float((layer.forward(x)[0] * r).sum()), W)
    assert relative_error(layer.embeddings.grad, numeric) < 1e-6


def test_repeated_indices_add_up_and_unused_rows_get_nothing():
    layer = layers.Embedding(5, 2)
    x = torch.tensor([[1, 3, 1], [1, 0, 3]])
    layer(x)
    _, backward = layer.forward(x)
    backward(torch.ones(2, 3, 2, dtype=torch.float64))
    np.testing.assert_array_equal(layer.embeddings.grad.numpy(),
                                  [[1, 1], [3, 3], [0, 0], [2, 2], [0, 0]])
    backward(torch.ones(2, 3, 2, dtype=torch.float64))      # gradients accumulate
    assert layer.embeddings.grad[1, 0].item() == 6


def test_first_layer_skips_dx_and_frozen_layer_gets_no_gradient():
    layer = layers.Embedding(4, 3, trainable=False)
    layer(torch.tensor([[0, 1]]))
    _, backward = layer.forward(torch.tensor([[0, 1]]))
    assert backward(torch.ones(1, 2, 3, dtype=torch.float64), need_dx=False) is None
    assert not layer.embeddings.grad.any()


def test_default_initializer_is_keras_uniform():
    layer = layers.Embedding(50, 40)
    layer(torch.tensor([[0]]))
    W = layer.embeddings.value
    assert W.abs().max() <= 0.05 and W.std() > 0.02            # U(-0.05, 0.05): std 0.029
    config = layer.get_config()["embeddings_initializer"]
    assert config["config"]["minval"] == -0.05 and config["config"]["maxval"] == 0.05


def test_fit_trajectory_equals_autograd():
    """Embedding -> Flatten -> Dense, 20 SGD steps of model.fit, equal to autograd to 1e-10."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 6, (40, 3), generator=g)
    y = torch.randn(40, 1, generator=g, dtype=torch.float64)
    model = ks.Sequential([ks.Input((3,)), layers.Embedding(6, 4), layers.Flatten(),
                           layers.Dense(1)])
    model.compile(optimizer=ks.optimizers.SGD(LR), loss="mse")
    params = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    model.fit(x, y, batch_size=2, shuffle=False, verbose=0)   # 20 steps
    for step in range(20):
        xb, yb = x[2 * step:2 * step + 2], y[2 * step:2 * step + 2]
        E, W, b = params
        out = F.embedding(xb, E).reshape(2, -1) @ W + b
        loss = ((out - yb) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():                                  # plain SGD: w <- w - lr * dw
            for p, d in zip(params, grads):
                p.sub_(LR * d)
    for got, want in zip(model.get_weights(), params):
        torch.testing.assert_close(torch.tensor(got), want.detach(), rtol=1e-10, atol=1e-10)


def test_loads_keras_weights():
    # Keras 3: Embedding(input_dim, output_dim) has one weight, embeddings (input_dim, output_dim);
    # output[..., :] is the row of each index.
    model = ks.Sequential([ks.Input((2,)), layers.Embedding(3, 2)])
    table = np.array([[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]])
    model.set_weights([table])
    out = model.predict(np.array([[2, 0], [1, 1]]), verbose=0)
    np.testing.assert_array_equal(out, [[[2.0, 2.5], [0.0, 0.5]], [[1.0, 1.5], [1.0, 1.5]]])


def test_save_load_round_trip(tmp_path):
    model = ks.Sequential([ks.Input((4,)), layers.Embedding(9, 3, mask_zero=True,
                                                            embeddings_regularizer="l2"),
                           layers.Flatten(), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).integers(0, 9, (8, 4))
    model.fit(x, np.zeros((8, 2)), verbose=0)
    model.save(tmp_path / "emb.keras")
    loaded = ks.models.load_model(tmp_path / "emb.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    layer = loaded.layers[0]
    assert layer.mask_zero and layer.embeddings.regularizer.get_config() == {"l2": 0.01}


def test_config_round_trip_and_mask():
    layer = layers.Embedding(7, 2, embeddings_initializer="ones", mask_zero=True,
                             embeddings_constraint="unit_norm", name="words")
    clone = layers.deserialize(layers.serialize(layer))
    assert clone.get_config() == layer.get_config()
    assert clone.compute_mask(torch.tensor([[0, 3]])).tolist() == [[False, True]]
    assert layers.Embedding(3, 2).compute_mask(torch.tensor([[0]])) is None


def test_input_length_is_accepted_with_a_warning():
    with pytest.warns(UserWarning, match="input_length"):
        layer = layers.Embedding(5, 2, input_length=10)
    assert "input_length" not in layer.get_config()


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"input_dim": 0, "output_dim": 2}, ValueError, "input_dim"),
    ({"input_dim": 3.0, "output_dim": 2}, ValueError, "input_dim"),
    ({"input_dim": 3, "output_dim": True}, ValueError, "output_dim"),
    ({"input_dim": 3, "output_dim": 2, "mask_zero": 1}, TypeError, "mask_zero"),
    ({"input_dim": 3, "output_dim": 2, "embeddings_initializer": "unifrm"}, ValueError,
     "initializer"),
    ({"input_dim": 3, "output_dim": 2, "embeddings_regularizer": "l3"}, ValueError, "regularizer"),
])
def test_bad_arguments_name_them(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        layers.Embedding(**kwargs)


@pytest.mark.parametrize("x, message", [
    (torch.tensor([[1.5, 0.0]]), "integer indices"),
    (torch.tensor([[float("nan"), 0.0]]), "integer indices"),
    (torch.tensor([[-1, 0]]), r"\[0, 4\)"),
    (torch.tensor([[4, 0]]), r"\[0, 4\)"),
    (torch.tensor([[4.0, 0.0]]), r"\[0, 4\)"),
    (torch.tensor([[True, False]]), "integer indices"),
])
def test_bad_indices_raise_naming_the_input(x, message):
    layer = layers.Embedding(4, 2)
    layer(torch.tensor([[0, 1]]))
    before = layer.embeddings.value.clone()
    with pytest.raises((ValueError, TypeError), match=f"Invalid input to Embedding.*{message}"):
        layer.forward(x)
    assert torch.equal(layer.embeddings.value, before)


def test_fit_refuses_out_of_range_indices_naming_the_input():
    model = ks.Sequential([ks.Input((2,)), layers.Embedding(3, 2), layers.Flatten(),
                           layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="Invalid input to Embedding"):
        model.fit(np.array([[0, 3]]), np.zeros((1, 1)), verbose=0)


# ---- examples/text_embedding.py ---------------------------------------------------------------------
def load_example(name):
    import importlib.util
    import pathlib
    import sys
    folder = pathlib.Path(__file__).resolve().parents[1] / "examples"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(f"_example_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_text_embedding_example_runs_and_learns(capsys):
    threads = torch.get_num_threads()
    try:
        example = load_example("text_embedding")
        texts, labels = example.make_corpus(50, seed=0)
        ids = example.encode(texts)
        assert ids.shape == (50, example.MAX_LENGTH) and ids.max() < len(example.VOCABULARY)
        assert set(labels.tolist()) == {0, 1}
        runs = example.main(["--seeds", "1", "--samples", "400", "--epochs", "3",
                             "--negation", "0", "--no-baseline"])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "GlobalAveragePooling1D" in out and len(runs) == 1
    assert runs[0]["epochs"] <= 3 and 0.5 < runs[0]["test"] <= 1.0   # better than chance


def test_every_new_layer_in_one_model_summary_save_load(tmp_path, capsys):
    """Embedding, the noise layers, the normalisations and ActivityRegularization in one model:
    summary lists them, fit runs, save / load and get_weights / set_weights reproduce predict."""
    model = ks.Sequential([
        ks.Input((6,)), layers.Embedding(10, 4), layers.SpatialDropout1D(0.2, seed=1),
        layers.GaussianNoise(0.1, seed=2), layers.GaussianDropout(0.1, seed=3),
        layers.BatchNormalization(), layers.LayerNormalization(), layers.GroupNormalization(2),
        layers.ActivityRegularization(l2=0.01), layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.summary()
    out = capsys.readouterr().out
    for name in ("Embedding", "SpatialDropout1D", "GaussianNoise", "GaussianDropout",
                 "BatchNormalization", "LayerNormalization", "GroupNormalization",
                 "ActivityRegularization"):
        assert name in out
    x = np.random.default_rng(1).integers(0, 10, (16, 6))
    model.fit(x, np.ones((16, 1)), batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "all.keras")
    loaded = ks.models.load_model(tmp_path / "all.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    clone = ks.models.Sequential.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
