"""ks.callbacks.TensorBoard: event files read back with TensorBoard's own reader, and a real
`tensorboard` server answering for a kerasette run."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

import kerasette as ks
from kerasette.callbacks import TensorBoard

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")


def data(n=48, seed=0):
    rs = np.random.RandomState(seed)
    x = rs.randn(n, 3).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) > 0).astype("float32")
    return x, y


def net(seed=0):
    ks.utils.set_random_seed(seed)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(5, activation="tanh"),
                           ks.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=ks.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def read(run_dir):
    acc = event_accumulator.EventAccumulator(
        str(run_dir), size_guidance={event_accumulator.SCALARS: 0,
                                     event_accumulator.HISTOGRAMS: 0,
                                     event_accumulator.TENSORS: 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_epoch_scalars_equal_history_in_train_and_validation_runs(tmp_path):
    x, y = data()
    model = net()
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[TensorBoard(tmp_path)])
    train, val = read(tmp_path / "train"), read(tmp_path / "validation")
    h = history.history
    for key in ("loss", "accuracy"):
        got = scalars(train, f"epoch_{key}")
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], h[key], rtol=1e-6)
        got = scalars(val, f"epoch_{key}")
        np.testing.assert_allclose([v for _, v in got], h[f"val_{key}"], rtol=1e-6)
    lr = scalars(train, "epoch_learning_rate")
    np.testing.assert_allclose([v for _, v in lr], [0.01] * 3, rtol=1e-6)
    assert not any(t.startswith("batch_") for t in train.Tags()["scalars"])  # update_freq="epoch"
    assert not train.Tags()["histograms"]                                    # histogram_freq=0
    # Keras's evaluation_<name>_vs_iterations after each validation, step = optimizer iterations
    ev = scalars(val, "evaluation_loss_vs_iterations")
    assert [s for s, _ in ev] == [3, 6, 9]
    np.testing.assert_allclose([v for _, v in ev], h["val_loss"], rtol=1e-6)
    # the model config for the graph tab (Keras's tag "keras", plugin graph_keras_model)
    (graph,) = train.Tensors("keras")
    config = json.loads(graph.tensor_proto.string_val[0])
    assert config["class_name"] == "Sequential"


def test_histograms_of_weights_and_gradients_every_histogram_freq_epochs(tmp_path):
    x, y = data()
    model = net()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[TensorBoard(
        tmp_path, histogram_freq=2, write_graph=False)])
    train = read(tmp_path / "train")
    tags = train.Tags()["histograms"]
    for w in model.weights:
        assert f"{w.name}/histogram" in tags
        assert f"{w.name}/gradient_histogram" in tags
        events = train.Histograms(f"{w.name}/histogram")
        assert [e.step for e in events] == [0, 2]
        assert events[-1].histogram_value.num == w.numel()
    last = train.Histograms(f"{model.layers[0].kernel.name}/histogram")[-1].histogram_value
    np.testing.assert_allclose(last.sum, float(model.layers[0].kernel.value.sum()), rtol=1e-5)
    assert sum(last.bucket) == 15
    norms = scalars(train, f"gradient_norm/{model.layers[1].name}")
    assert [s for s, _ in norms] == [0, 2] and all(v > 0 for _, v in norms)


def test_gradient_norms_are_the_first_batch_gradients(tmp_path):
    x, y = data()
    model = net()
    probe = net()  # same seed: same weights; one manual step on the first batch
    probe.fit(x[:16], y[:16], epochs=1, batch_size=16, shuffle=False, verbose=0,
              callbacks=[_GradGrab()])
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0,
              callbacks=[TensorBoard(tmp_path, histogram_freq=1, write_graph=False)])
    train = read(tmp_path / "train")
    for layer in model.layers:
        (got,) = scalars(train, f"gradient_norm/{layer.name}")
        expected = np.sqrt(sum(float((g ** 2).sum()) for g in _GradGrab.grads[probe.get_layer(
            index=model.layers.index(layer)).name]))
        np.testing.assert_allclose(got[1], expected, rtol=1e-5)


class _GradGrab(ks.callbacks.Callback):
    grads = {}

    def on_backward_end(self, batch, logs=None):
        if batch == 0:
            _GradGrab.grads = {layer.name: [w.grad.clone() for w in layer.weights]
                               for layer in self.model.layers}


@pytest.mark.parametrize("update_freq, steps", [("batch", [1, 2, 3, 4, 5, 6]), (2, [2, 4, 6])])
def test_batch_scalars_every_update_freq_batches(tmp_path, update_freq, steps):
    x, y = data()
    model = net()
    seen = []
    rec = ks.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(
        float(logs["loss"])))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[
        rec, TensorBoard(tmp_path, update_freq=update_freq, write_graph=False)])
    got = scalars(read(tmp_path / "train"), "batch_loss")
    assert [s for s, _ in got] == steps   # global batch count, 1-based, as in Keras
    np.testing.assert_allclose([v for _, v in got], [seen[s - 1] for s in steps], rtol=1e-6)


def test_cheap_when_not_asked():
    tb = TensorBoard("unused", histogram_freq=0, update_freq="epoch")
    for hook in ("on_backward_end", "on_train_batch_begin", "on_train_batch_end",
                 "on_test_batch_end"):
        assert not tb._wants_hook(hook)
    assert TensorBoard("unused", histogram_freq=1)._wants_hook("on_backward_end")
    assert not os.path.exists("unused")  # nothing written before training


@pytest.mark.parametrize("kwargs, arg", [
    ({"histogram_freq": -1}, "histogram_freq"), ({"histogram_freq": 1.5}, "histogram_freq"),
    ({"update_freq": 0}, "update_freq"), ({"update_freq": "step"}, "update_freq"),
    ({"profile_batch": -1}, "profile_batch"), ({"profile_batch": (5, 2)}, "profile_batch"),
    ({"log_dir": ""}, "log_dir"),
])
def test_bad_arguments_name_the_argument(kwargs, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        TensorBoard(**kwargs)


def test_keras_only_arguments_warn():
    with pytest.warns(UserWarning, match="profile_batch"):
        TensorBoard("logs", profile_batch=(2, 4))
    with pytest.warns(UserWarning, match="write_images"):
        TensorBoard("logs", write_images=True)


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    with pytest.raises(ImportError, match=r"kerasette\[tensorboard\]"):
        TensorBoard("logs")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_tensorboard_server_serves_the_epoch_loss(tmp_path):
    x, y = data()
    model = net()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                        callbacks=[TensorBoard(tmp_path / "logs")])
    port = _free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "tensorboard.main"]
    server = subprocess.Popen(cmd + ["--logdir", str(tmp_path / "logs"), "--host", "127.0.0.1",
                                     "--port", str(port), "--reload_interval", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    query = urllib.parse.urlencode({"run": "train", "tag": "epoch_loss"})
    url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?{query}"
    try:
        series, deadline = None, time.monotonic() + 120  # a busy machine starts it slowly
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    series = json.loads(r.read())
                if len(series) == 3:
                    break
            except (urllib.error.URLError, ConnectionError, ValueError):
                pass
            time.sleep(0.5)
        assert server.poll() is None, server.stderr.read().decode(errors="replace")[-2000:]
        assert series is not None and len(series) == 3, series
        assert [step for _, step, _ in series] == [0, 1, 2]   # [wall_time, step, value]
        np.testing.assert_allclose([v for _, _, v in series], history.history["loss"], rtol=1e-6)
        # the graph tab's conceptual graph, converted by TensorBoard from the model's config
        query = urllib.parse.urlencode({"run": "train", "tag": "keras", "conceptual": "true"})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/graphs/graph?{query}",
                                    timeout=20) as r:
            graph = r.read().decode()
        for layer in model.layers:
            assert f'name: "{model.name}/{layer.name}"' in graph
    finally:
        server.kill()
        server.wait(timeout=10)
        server.stderr.close()


def test_distribution_runs_it_on_rank_0_only():
    """ks.distribution wraps it (and MLflowLogger) so only rank 0 writes; the hooks it asks for
    must not depend on the rank, since every rank meets at the non-batch ones."""
    from kerasette.distribution.writer_callbacks import WriterOnly, wrap_writers

    class Rank1:
        is_writer = False

    tb = TensorBoard("unused", histogram_freq=1)
    (wrapped,) = wrap_writers([tb], Rank1())
    assert isinstance(wrapped, WriterOnly) and wrapped.inner is tb
    assert wrapped._wants_hook("on_epoch_end") and wrapped._wants_hook("on_backward_end")
    wrapped.on_backward_end(0, {})            # a batch hook on rank 1: not forwarded, no file
    assert not os.path.exists("unused")
