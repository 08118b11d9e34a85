"""torch Dataset / DataLoader input: (x, y) and (x, y, sample_weight) items, validation_data as a
DataLoader, evaluate and predict on datasets, seeding and the global RNG."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


RNG = np.random.default_rng(0)
X = torch.as_tensor(RNG.normal(size=(13, 3)))
Y = torch.as_tensor(np.arange(13) % 3)
W = torch.as_tensor(RNG.uniform(0.0, 2.0, 13))


def model(seed=0, metrics=("accuracy",)):
    ks.utils.set_random_seed(seed)
    m = ks.Sequential([ks.Input((3,)), Dense(5, activation="tanh"), Dense(3, activation="softmax")])
    m.compile(ks.optimizers.SGD(0.1, momentum=0.5), "sparse_categorical_crossentropy",
              metrics=list(metrics))
    return m


def same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


class PairList(Dataset):
    """A map-style dataset of NumPy (x, y) pairs, like a user's own Dataset class."""

    def __init__(self, x, y):
        self.x, self.y = x.numpy(), y.numpy()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class Stream(IterableDataset):
    """An iterable dataset without a length."""

    def __iter__(self):
        return iter(zip(X, Y))


# ----- training ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["dataset", "loader", "custom", "float32 loader"])
def test_dataset_and_loader_train_like_arrays(data):
    ref = model()
    ref.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    m = model()
    if data == "dataset":
        m.fit(TensorDataset(X, Y), epochs=2, batch_size=4, shuffle=False, verbose=0)
    elif data == "loader":
        m.fit(DataLoader(TensorDataset(X, Y), batch_size=4), epochs=2, verbose=0)
    elif data == "custom":
        m.fit(PairList(X, Y), epochs=2, batch_size=4, shuffle=False, verbose=0)
    else:
        m.fit(DataLoader(TensorDataset(X.float(), Y), batch_size=4), epochs=2, verbose=0)
    assert m.optimizer.iterations == ref.optimizer.iterations == 8
    if data == "float32 loader":
        for a, b in zip(m.get_weights(), ref.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    else:
        assert same(m.get_weights(), ref.get_weights())


def test_triples_carry_sample_weights():
    ref = model()
    ref.fit(X, Y, sample_weight=W, epochs=2, batch_size=5, shuffle=False, verbose=0)
    m = model()
    history = m.fit(DataLoader(TensorDataset(X, Y, W), batch_size=5), epochs=2, verbose=0)
    assert same(m.get_weights(), ref.get_weights())
    assert history.history["loss"] == ref.history.history["loss"]


def test_loader_history_matches_arrays():
    ref = model()
    h_ref = ref.fit(X, Y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    m = model()
    h = m.fit(DataLoader(TensorDataset(X, Y), batch_size=4), epochs=3, verbose=0)
    assert h.history.keys() == h_ref.history.keys()
    np.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-12)
    assert h.history["accuracy"] == h_ref.history["accuracy"]


def test_iterable_dataset_without_length():
    m = model()
    history = m.fit(DataLoader(Stream(), batch_size=4), epochs=2, verbose=0)
    assert m.optimizer.iterations == 8
    assert len(history.history["loss"]) == 2


def test_steps_per_epoch_continues_through_a_loader():
    """As with arrays (and Keras), steps_per_epoch continues where the previous epoch stopped."""
    seen = []

    class Indexed(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            seen.append(i)
            return X[i], Y[i]

    m = model()
    m.fit(DataLoader(Indexed(), batch_size=4), epochs=3, steps_per_epoch=2, verbose=0)
    assert m.optimizer.iterations == 6
    assert seen == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_shuffled_dataset_is_reproducible_and_leaves_the_global_rng_alone():
    results = []
    for seed in (1, 1, 2):
        m = model(seed)
        state = torch.random.get_rng_state()
        m.fit(TensorDataset(X, Y), epochs=2, batch_size=4, shuffle=True, verbose=0)
        assert torch.equal(torch.random.get_rng_state(), state)
        results.append(m.get_weights())
    assert same(results[0], results[1])
    unshuffled = model(1)
    unshuffled.fit(TensorDataset(X, Y), epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert not same(results[0], unshuffled.get_weights())


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataset_calls_never_touch_the_global_rng(shuffle):
    m = model()
    state = torch.random.get_rng_state()
    m.fit(TensorDataset(X, Y), validation_data=TensorDataset(X, Y), shuffle=shuffle, verbose=0)
    m.evaluate(TensorDataset(X, Y), verbose=0)
    m.predict(TensorDataset(X), verbose=0)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_unbuilt_model_builds_from_the_first_batch():
    ks.utils.set_random_seed(0)
    m = ks.Sequential([Dense(4), Dense(3, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(DataLoader(TensorDataset(X, Y), batch_size=4), verbose=0)
    assert m.input_shape == (None, 3)
    assert m.optimizer.iterations == 4


# ----- validation, evaluate, predict ----------------------------------------------------------------
def test_validation_data_as_a_loader():
    xv, yv = X[:6] + 0.3, Y[:6]
    m = model()
    history = m.fit(X, Y, epochs=2, validation_data=DataLoader(TensorDataset(xv, yv),
                                                                batch_size=4), verbose=0)
    loss, acc = m.evaluate(xv, yv, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(acc)


def test_validation_loader_with_weights():
    xv, yv, wv = X[:6], Y[:6], W[:6]
    m = model()
    history = m.fit(X, Y, validation_data=DataLoader(TensorDataset(xv, yv, wv), batch_size=4),
                    verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        m.evaluate(xv, yv, sample_weight=wv, verbose=0)[0], rel=1e-12)


def test_evaluate_on_a_loader_equals_arrays():
    m = model()
    on_arrays = m.evaluate(X, Y, sample_weight=W, verbose=0)
    on_loader = m.evaluate(DataLoader(TensorDataset(X, Y, W), batch_size=3), verbose=0)
    np.testing.assert_allclose(on_loader, on_arrays, rtol=1e-12)
    assert m.evaluate(TensorDataset(X, Y), return_dict=True, verbose=0).keys() == {"loss",
                                                                                   "accuracy"}


@pytest.mark.parametrize("data", [TensorDataset(X), TensorDataset(X, Y),
                                  DataLoader(TensorDataset(X, Y), batch_size=5)],
                         ids=["x only", "x and y", "loader"])
def test_predict_on_datasets(data):
    m = model()
    out = m.predict(data, verbose=0)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, m.predict(X.numpy(), verbose=0), rtol=1e-15)


# ----- bad datasets ------------------------------------------------------------------------------------
def test_dataset_of_x_only_cannot_train():
    m = model()
    before = m.get_weights()
    with pytest.raises(ValueError, match="x, y"):
        m.fit(TensorDataset(X), verbose=0)
    assert same(m.get_weights(), before)


def test_dataset_with_labels_out_of_range():
    m = model()
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"y.*\[0, 3\)"):
        m.fit(TensorDataset(X, Y + 5), verbose=0)
    assert same(m.get_weights(), before) and m.optimizer.iterations == 0


def test_validation_loader_errors_name_validation_data():
    m = model()
    with pytest.raises(ValueError, match="validation_data x"):
        m.fit(X, Y, validation_data=DataLoader(TensorDataset(X[:, :2], Y)), verbose=0)


def test_dataset_items_of_the_wrong_arity():
    m = model()
    with pytest.raises(ValueError, match="length 4"):
        m.fit(TensorDataset(X, Y, W, W), verbose=0)


def test_evaluate_on_a_dataset_rejects_separate_labels_or_weights():
    m = model()
    with pytest.raises(ValueError, match="y"):
        m.evaluate(TensorDataset(X, Y), Y, verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        m.evaluate(TensorDataset(X, Y), sample_weight=W, verbose=0)


class EmptyStream(IterableDataset):
    def __iter__(self):
        return iter(())


@pytest.mark.parametrize("empty", [TensorDataset(X[:0], Y[:0]),
                                   DataLoader(TensorDataset(X[:0], Y[:0])),
                                   DataLoader(EmptyStream())],
                         ids=["dataset", "loader", "iterable"])
@pytest.mark.parametrize("call", ["fit", "evaluate", "predict", "validation"])
def test_empty_datasets_are_a_clear_error(empty, call):
    m = model()
    before = m.get_weights()
    name = "validation_data" if call == "validation" else "x"
    with pytest.raises(ValueError, match=name):
        if call == "validation":
            m.fit(X, Y, validation_data=empty, verbose=0)
        else:
            getattr(m, call)(empty, verbose=0)
    if call != "validation":
        assert same(m.get_weights(), before)
