"""Devices and precision: model.to(dtype / device), and data moved to the model's device once per
fit; unshuffled batches are views of it, shuffled ones views of a gathered chunk of at most
`data.GATHER_BYTES` (or one batch)."""

import numpy as np
import pytest
import torch

import kerasette as ks
import kerasette.data
from kerasette.layers import Dense

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(autouse=True)
def float32():
    """These tests start from the default float32 and convert explicitly."""
    ks.config.set_floatx("float32")
    yield
    ks.config.set_floatx("float32")


class StorageRecorder(ks.layers.Layer):
    """Identity layer that records the storage address of every batch it sees."""

    def __init__(self):
        super().__init__()
        self.seen = []  # (training, storage pointer, device)
        self.batches = []  # (bytes of the batch's storage, the batch) in training

    def forward(self, x, training=False):
        self.seen.append((training, x.untyped_storage().data_ptr(), x.device))
        if training:
            self.batches.append((x.untyped_storage().nbytes(), x.clone()))
        return x, lambda dy: dy

    def pointers(self, training=True):
        return [p for t, p, _ in self.seen if t == training]


def recorder_model(dtype=None):
    rec = StorageRecorder()
    model = ks.Sequential([ks.Input((3,)), rec, Dense(2)])
    if dtype is not None:
        model.to(dtype)
    model.compile(ks.optimizers.SGD(0.01), "mse")
    return model, rec


X64 = torch.randn(10, 3, dtype=torch.float64)
Y64 = torch.randn(10, 2, dtype=torch.float64)


# ----- precision -----------------------------------------------------------------------------------
def test_to_float64_then_fit():
    model = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(2)])
    model.compile("adam", "mse")
    model.to(torch.float64)
    assert model.dtype == torch.float64
    model.fit(X64.numpy(), Y64.numpy(), epochs=2, batch_size=4, verbose=0)
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert all(s.dtype == torch.float64 for s in model.optimizer._slots.values())
    assert model.optimizer.buffer.params.dtype == torch.float64
    assert model.predict(X64.float(), verbose=0).dtype == torch.float64
    assert model.predict(X64.float().numpy(), verbose=0).dtype == np.float64


def test_to_float64_before_build():
    model = ks.Sequential([Dense(4), Dense(2)])
    model.to(torch.float64)
    model.compile("sgd", "mse")
    model.fit(X64.float(), Y64.float(), verbose=0)
    assert model.get_weights()[0].dtype == np.float64


def test_to_after_training_keeps_the_optimizer_state():
    model = ks.Sequential([ks.Input((3,)), Dense(2)])
    model.compile(ks.optimizers.Adam(0.01), "mse")
    model.fit(X64, Y64, epochs=2, batch_size=5, verbose=0)
    slots = {k: v.clone() for k, v in model.optimizer._slots.items()}
    weights = model.get_weights()
    model.to(torch.float64)
    assert model.optimizer.iterations == 4
    for k, v in slots.items():
        assert torch.equal(model.optimizer._slots[k], v.double())
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b.astype(np.float64))
    model.fit(X64, Y64, epochs=1, batch_size=5, verbose=0)
    assert model.optimizer.iterations == 6


def test_float32_and_float64_models_agree_to_float32_precision():
    ks.utils.set_random_seed(0)
    a = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(2)])
    b = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(2)])
    b.set_weights(a.get_weights())
    b.to(torch.float64)
    for m in (a, b):
        m.compile(ks.optimizers.SGD(0.1), "mse")
        m.fit(X64, Y64, epochs=3, batch_size=4, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        assert u.dtype == np.float32 and v.dtype == np.float64
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bad, exc", [(torch.int64, TypeError), ("float64", ValueError),
                                      ("gpu", ValueError)])
def test_to_rejects_bad_arguments(bad, exc):
    model = ks.Sequential([ks.Input((3,)), Dense(2)])
    with pytest.raises(exc, match="dtype|device"):
        model.to(bad)
    assert model.dtype == torch.float32 and model.device == torch.device("cpu")


# ----- data moved once per fit -----------------------------------------------------------------
def test_batches_are_views_of_the_users_tensor_when_no_move_is_needed():
    model, rec = recorder_model(torch.float64)
    model.fit(X64, Y64, epochs=3, batch_size=3, shuffle=False, verbose=0)
    pointers = rec.pointers()
    assert len(pointers) == 3 * 4
    assert set(pointers) == {X64.untyped_storage().data_ptr()}  # no copy at all


def test_one_conversion_per_fit_not_per_batch():
    model, rec = recorder_model(torch.float64)
    x32 = X64.float()
    model.fit(x32, Y64, epochs=3, batch_size=3, shuffle=False, validation_data=(x32, Y64),
              verbose=0)
    train, val = rec.pointers(True), rec.pointers(False)
    assert len(set(train)) == 1 and x32.untyped_storage().data_ptr() not in train
    assert len(val) == 3 * 4 and len(set(val)) == 1   # validation data converted once too


def _check_shuffled_epochs(rec, epochs, steps):
    """Every row once per epoch, in an order that changes between epochs."""
    assert len(rec.batches) == epochs * steps
    for e in range(epochs):
        rows = torch.cat([b for _, b in rec.batches[steps * e:steps * (e + 1)]])
        order = [int((X64 == r).all(1).nonzero()) for r in rows]
        assert sorted(order) == list(range(10))
    orders = [tuple(float(b[0, 0]) for _, b in rec.batches[steps * e:steps * (e + 1)])
              for e in range(epochs)]
    assert len(set(orders)) > 1


def test_shuffled_small_batches_share_one_gather():
    # 10 rows of 5 float64 (x and y): the whole epoch fits one gather, the batches are its views
    model, rec = recorder_model(torch.float64)
    model.fit(X64, Y64, epochs=3, batch_size=3, shuffle=True, verbose=0)
    _check_shuffled_epochs(rec, 3, 4)
    assert all(nbytes == 10 * 3 * 8 for nbytes, _ in rec.batches)  # x's chunk: all 10 rows
    pointers = rec.pointers()
    assert [len(set(pointers[4 * e:4 * e + 4])) for e in range(3)] == [1, 1, 1]  # one storage


@pytest.mark.parametrize("gather_bytes, chunk_rows", [
    (0, [3, 3, 3, 1]),           # less than one batch: each batch gathers alone
    (240, [6, 6, 4, 4]),         # two batches of 3 rows x 40 bytes: chunks of 6 rows, then 4
])
def test_shuffled_gathers_stay_within_gather_bytes(monkeypatch, gather_bytes, chunk_rows):
    # a chunk holds as many whole batches as fit in GATHER_BYTES, and at least one: the memory a
    # shuffled epoch adds is one chunk, never a second copy of the data set
    monkeypatch.setattr(kerasette.data, "GATHER_BYTES", gather_bytes)
    model, rec = recorder_model(torch.float64)
    model.fit(X64, Y64, epochs=3, batch_size=3, shuffle=True, verbose=0)
    _check_shuffled_epochs(rec, 3, 4)
    assert [nbytes // (3 * 8) for nbytes, _ in rec.batches] == chunk_rows * 3


def test_numpy_data_is_converted_once_per_fit():
    model, rec = recorder_model(torch.float64)
    model.fit(X64.numpy(), Y64.numpy(), epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert len(set(rec.pointers())) == 1


# ----- CUDA ------------------------------------------------------------------------------------------
@cuda
def test_cuda_fit_and_predict():
    model, rec = recorder_model()
    model.to("cuda")
    assert model.device.type == "cuda"
    model.fit(X64.numpy(), Y64.numpy(), epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert all(d.type == "cuda" for _, _, d in rec.seen)
    assert len(set(rec.pointers())) == 1  # copied to the GPU once, not per batch
    assert model.optimizer.buffer.params.device.type == "cuda"
    out = model.predict(X64.numpy(), verbose=0)
    assert isinstance(out, np.ndarray)
    cpu_out = model.predict(X64, verbose=0)
    assert cpu_out.device.type == "cpu"  # tensor out on the input's device
    gpu_out = model.predict(X64.cuda(), verbose=0)
    assert gpu_out.device.type == "cuda"
    torch.testing.assert_close(gpu_out.cpu(), cpu_out)


@cuda
def test_cuda_matches_cpu():
    ks.utils.set_random_seed(0)
    a = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(2)])
    b = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(2)])
    b.set_weights(a.get_weights())
    b.to("cuda")
    for m in (a, b):
        m.to(torch.float64)
        m.compile(ks.optimizers.Adam(0.01), "mse")
        m.fit(X64, Y64, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


@cuda
def test_cuda_model_saves_and_loads(tmp_path):
    model = ks.Sequential([ks.Input((3,)), Dense(2)])
    model.compile("adam", "mse")
    model.to("cuda")
    model.fit(X64, Y64, verbose=0)
    model.save(tmp_path / "m")
    loaded = ks.models.load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(X64.numpy(), verbose=0),
                               model.predict(X64.numpy(), verbose=0), rtol=1e-6)
