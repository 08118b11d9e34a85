"""Python generators and ks.utils.PyDataset in fit / evaluate / predict, steps_per_epoch, and
ks.utils.pad_sequences / normalize / split_dataset (Keras 3.15's arguments and defaults)."""

import math

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import kerasette as ks
from kerasette.layers import Dense

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32))
W = rng.uniform(0.5, 1.5, size=40).astype(np.float32)


def model(seed=0):
    ks.utils.set_random_seed(seed)
    m = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(1)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return m


class Batches(ks.utils.PyDataset):
    def __init__(self, x, y, batch_size, sw=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.sw, self.batch_size = x, y, sw, batch_size
        self.begins = self.ends = 0
        self.seen = []

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i):
        self.seen.append(i)
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return (self.x[s], self.y[s]) if self.sw is None else (self.x[s], self.y[s], self.sw[s])

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


def batches_of(x, y, sw=None, size=8):
    for i in range(0, len(x), size):
        s = slice(i, i + size)
        yield (x[s], y[s]) if sw is None else (x[s], y[s], sw[s])


def test_generator_and_pydataset_train_exactly_like_arrays():
    ref = model().fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    gen = model().fit(batches_of(X, Y), epochs=1, verbose=0).history
    ds = model().fit(Batches(X, Y, 8), epochs=1, shuffle=False, verbose=0).history
    assert gen == ref and ds == ref
    ref_w = model().fit(X, Y, sample_weight=W, batch_size=8, shuffle=False, verbose=0).history
    gen_w = model().fit(batches_of(X, Y, W), verbose=0).history
    ds_w = model().fit(Batches(X, Y, 8, sw=W), shuffle=False, verbose=0).history
    assert gen_w == ref_w and ds_w == ref_w


def test_pydataset_epoch_hooks_shuffled_order_and_keras_constructor_args():
    ds = Batches(X, Y, 8, workers=4, use_multiprocessing=False, max_queue_size=5)
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (4, False, 5)
    m = model()
    m.fit(ds, epochs=3, verbose=0)  # shuffle=True (fit's default) shuffles the batch order
    assert (ds.begins, ds.ends) == (3, 3)
    epochs = [ds.seen[i:i + 5] for i in range(0, 15, 5)]
    assert all(sorted(e) == list(range(5)) for e in epochs) and epochs != [list(range(5))] * 3
    ds.seen.clear()
    m.evaluate(ds, verbose=0)
    assert ds.seen == list(range(5)) and ds.ends == 4  # never shuffled outside fit
    assert m.predict(ds, verbose=0).shape == (40, 1)
    with pytest.raises(ValueError, match="workers"):
        Batches(X, Y, 8, workers=0)


def test_infinite_generator_with_steps_per_epoch_continues_across_epochs():
    def forever():
        while True:
            yield from batches_of(X, Y)

    ref = model().fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    got = model().fit(forever(), steps_per_epoch=5, epochs=3, verbose=0).history
    assert got == ref
    m = model()
    # 3 steps per epoch: epoch 2 starts with the 4th batch of the pass
    m.fit(forever(), steps_per_epoch=3, epochs=2, verbose=0)
    assert m.optimizer.iterations == 6
    assert m.evaluate(forever(), steps=5, verbose=0) == pytest.approx(m.evaluate(X, Y, verbose=0))


def test_finite_generator_runs_out_with_keras_warning_then_stops():
    m = model()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = m.fit(batches_of(X, Y), epochs=4, verbose=0)
    assert len(history.history["loss"]) == 1 and m.optimizer.iterations == 5
    empty = (b for b in [])
    with pytest.raises(ValueError, match="no batch"):
        model().fit(empty, verbose=0)


def test_every_generator_batch_is_checked_before_its_step():
    def bad():
        yield X[:8], Y[:8]
        yield X[8:16], np.full((8, 1), np.nan, dtype=np.float32)

    m = model()
    with pytest.raises(ValueError, match="y"):
        m.fit(bad(), verbose=0)
    assert m.optimizer.iterations == 1  # the bad batch took no step

    def wrong_shape():
        yield X[:8], Y[:8]
        yield X[8:16, :2], Y[8:16]

    with pytest.raises(ValueError, match=r"expects inputs of shape"):
        model().fit(wrong_shape(), verbose=0)
    with pytest.raises(ValueError, match="y=None"):
        model().fit(batches_of(X, Y), Y, verbose=0)


def test_generators_as_validation_data_and_predict_inputs():
    m = model()

    def forever():
        while True:
            yield from batches_of(X, Y)

    h = m.fit(X, Y, validation_data=forever(), validation_steps=5, epochs=2, verbose=0)
    assert len(h.history["val_loss"]) == 2
    preds = m.predict((x for x, _ in batches_of(X, Y)), verbose=0)
    np.testing.assert_allclose(preds, m.predict(X, verbose=0), rtol=1e-6)


# ----- pad_sequences, normalize, split_dataset ---------------------------------------------------
def test_pad_sequences_keras_defaults():
    seqs = [[1, 2, 3], [4], [5, 6]]
    out = ks.utils.pad_sequences(seqs)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[1, 2, 3], [0, 0, 4], [0, 5, 6]])
    np.testing.assert_array_equal(ks.utils.pad_sequences(seqs, maxlen=2),
                                  [[2, 3], [0, 4], [5, 6]])  # truncating="pre" keeps the end
    np.testing.assert_array_equal(
        ks.utils.pad_sequences(seqs, maxlen=2, padding="post", truncating="post", value=-1),
        [[1, 2], [4, -1], [5, 6]])
    floats = ks.utils.pad_sequences([[0.5], [1.5, 2.5]], dtype="float32", value=9.0)
    np.testing.assert_array_equal(floats, np.array([[9.0, 0.5], [1.5, 2.5]], np.float32))
    assert ks.utils.pad_sequences([[], [1]]).tolist() == [[0], [1]]
    with pytest.raises(ValueError, match="padding"):
        ks.utils.pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="maxlen"):
        ks.utils.pad_sequences(seqs, maxlen=-1)


def test_normalize_numpy_and_tensor():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    np.testing.assert_allclose(ks.utils.normalize(x), [[0.6, 0.8], [0, 0], [2 ** -0.5, -2 ** -0.5]])
    np.testing.assert_allclose(ks.utils.normalize(x, axis=-1, order=1)[0], [3 / 7, 4 / 7])
    np.testing.assert_allclose(ks.utils.normalize(x, axis=0)[:, 0], [3 / 10 ** 0.5, 0, 1 / 10 ** 0.5])
    t = ks.utils.normalize(torch.tensor(x))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), ks.utils.normalize(x))
    with pytest.raises(ValueError, match="order"):
        ks.utils.normalize(x, order=0)


def test_split_dataset_arrays_tuples_and_torch_datasets():
    left, right = ks.utils.split_dataset(X, left_size=0.75)
    assert left.shape == (30, 3) and right.shape == (10, 3)
    (xl, yl), (xr, yr) = ks.utils.split_dataset((X, Y), right_size=10, shuffle=True, seed=1)
    assert len(xl) == 30 and len(xr) == 10
    assert sorted(map(tuple, np.vstack([xl, xr]).tolist())) == sorted(map(tuple, X.tolist()))
    rows = [X.tolist().index(r) for r in np.vstack([xl, xr]).tolist()]
    np.testing.assert_array_equal(np.vstack([yl, yr]), Y[rows])  # pairs kept together
    a, b = ks.utils.split_dataset(TensorDataset(torch.tensor(X), torch.tensor(Y)))
    assert len(a) == len(b) == 20
    model().fit(a, validation_data=b, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="left_size"):
        ks.utils.split_dataset(X, left_size=1.5)
    with pytest.raises(ValueError, match="left_size / right_size"):
        ks.utils.split_dataset(X, left_size=30, right_size=20)
