"""ks.callbacks.GradientMonitor: per-layer gradient norms and update ratios in the epoch logs,
equal to values computed by hand from the same batch; nothing per batch when absent."""

import csv

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.callbacks import Callback, CallbackList, GradientMonitor
from kerasette.callbacks.gradient_monitor import weight_norms, weight_norms_readable


def data(n=48, seed=0):
    rs = np.random.RandomState(seed)
    x = rs.randn(n, 3).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) > 0).astype("float32")
    return x, y


def net(seed=0, optimizer="adam"):
    ks.utils.set_random_seed(seed)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(5, activation="relu"),
                           ks.layers.Dropout(0.0), ks.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


class Spy(Callback):
    """Records each layer's gradient at the first batch of every epoch and the weights around
    that batch's step."""

    def on_train_begin(self, logs=None):
        self.records = []

    def on_epoch_begin(self, epoch, logs=None):
        self.records.append({})

    def on_backward_end(self, batch, logs=None):
        rec = self.records[-1]
        if batch == 0:
            rec["grads"] = {l.name: [w.grad.clone() for w in l.weights] for l in self.model.layers}
            rec["before"] = {l.name: [w.value.clone() for w in l.weights] for l in self.model.layers}
        elif batch == 1:
            rec["after"] = {l.name: [w.value.clone() for w in l.weights] for l in self.model.layers}


def norm(tensors):
    return float(torch.sqrt(sum((t.double() ** 2).sum() for t in tensors)))


def test_logs_hold_the_first_batch_norms_and_update_ratios():
    x, y = data()
    model, spy, monitor = net(), Spy(), GradientMonitor()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[spy, monitor])
    dense = [l.name for l in model.layers if l.weights]
    dropout = model.layers[1].name
    assert f"grad_norm/{dropout}" not in history.history          # no weights, no key
    for layer in dense:
        got = history.history[f"grad_norm/{layer}"]
        expected = [norm(r["grads"][layer]) for r in spy.records]
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        got = history.history[f"update_ratio/{layer}"]
        expected = [norm([a - b for a, b in zip(r["after"][layer], r["before"][layer])])
                    / norm(r["before"][layer]) for r in spy.records]
        np.testing.assert_allclose(got, expected, rtol=1e-4)
        assert all(0 < v < 1 for v in got)


def test_one_batch_per_epoch_update_read_at_epoch_end():
    x, y = data(16)
    model = net(optimizer=ks.optimizers.SGD(0.1))
    before = [w.value.clone() for w in model.layers[0].weights]
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[GradientMonitor()])
    after = [w.value for w in model.layers[0].weights]
    # plain SGD: the update is -lr * gradient, so ratio = lr * ||g|| / ||W||
    name = model.layers[0].name
    ratio = norm([a - b for a, b in zip(after, before)]) / norm(before)
    np.testing.assert_allclose(history.history[f"update_ratio/{name}"], [ratio], rtol=1e-5)
    np.testing.assert_allclose(ratio, 0.1 * history.history[f"grad_norm/{name}"][0] /
                               norm(before), rtol=1e-4)


def test_csv_logger_and_update_ratio_off(tmp_path):
    x, y = data()
    path = tmp_path / "log.csv"
    net().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[
        GradientMonitor(update_ratio=False, prefix="gm_"), ks.callbacks.CSVLogger(path)])
    with open(path) as f:
        header = next(csv.reader(f))
    assert any(h.startswith("gm_grad_norm/") for h in header)
    assert not any("update_ratio" in h for h in header)


def test_nothing_per_batch_without_a_monitor_and_only_the_backward_hook_with_one():
    assert not CallbackList([]).has_backward_hooks
    cbs = CallbackList([GradientMonitor()])
    assert cbs.has_backward_hooks and not cbs.has_train_batch_hooks


def test_fused_norms_equal_their_readable_twin():
    g = torch.Generator().manual_seed(0)
    tensors = [torch.randn(5, 3, generator=g), torch.randn(7, generator=g), torch.zeros(2)]
    np.testing.assert_allclose(weight_norms(tensors).numpy(), weight_norms_readable(tensors).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("kwargs, arg", [({"update_ratio": 1}, "update_ratio"),
                                         ({"prefix": 3}, "prefix")])
def test_bad_arguments_name_the_argument(kwargs, arg):
    with pytest.raises(TypeError, match=arg):
        GradientMonitor(**kwargs)
