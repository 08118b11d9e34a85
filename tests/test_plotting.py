"""kerasette.plotting: figures from histories and 2-D classifiers, PNGs written, bad input named."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.plotting import plot_curves_over_seeds, plot_disk_predictions, plot_history

pytest.importorskip("matplotlib")


def png_ok(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


def small_fit(epochs=3, **fit_kwargs):
    ks.utils.set_random_seed(0)
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(0))
    y = (x[:, :1] > 0.5).float()
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(4, activation="relu"),
                           ks.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, **fit_kwargs)


def test_plot_history_from_a_real_fit(tmp_path):
    history = small_fit(validation_split=0.25)
    fig = plot_history(history, path=tmp_path / "h.png")
    assert png_ok(tmp_path / "h.png")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    train_line, val_line = axes[0].get_lines()
    assert list(train_line.get_xdata()) == [1, 2, 3]
    assert np.allclose(train_line.get_ydata(), history.history["loss"])
    assert np.allclose(val_line.get_ydata(), history.history["val_loss"])


def test_plot_history_picks_metrics_and_accepts_dicts_and_models(tmp_path):
    record = {"loss": [3.0, 2.0, 1.0, 0.5], "mae": [1, 1, 1, 1], "val_loss": [2.5, 0.7]}
    fig = plot_history(record, metrics="loss")
    assert len(fig.get_axes()) == 1
    train_line, val_line = fig.get_axes()[0].get_lines()
    assert list(val_line.get_xdata()) == [2, 4]  # validation_freq=2: validated at epochs 2 and 4
    fig = plot_history(record, metrics=["loss", "mae"])
    assert len(fig.get_axes()) == 2

    class Fitted:  # a model after fit: model.history is the History
        history = small_fit(epochs=2)

    assert len(plot_history(Fitted()).get_axes()) == 2


@pytest.mark.parametrize("history, metrics, error, match", [
    ({"loss": [1.0]}, ["accuracy"], ValueError, "'accuracy' is not in the history"),
    ({"loss": [1.0]}, [], ValueError, "at least one"),
    ({}, None, ValueError, "no epochs"),
    ({"loss": []}, None, ValueError, "no epochs"),
    ([1.0, 2.0], None, TypeError, "History"),
])
def test_plot_history_bad_input(history, metrics, error, match):
    with pytest.raises(error, match=match):
        plot_history(history, metrics=metrics)


def threshold_model():
    """One sigmoid unit that says class 1 exactly when x1 > 0.5."""
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[10.0], [0.0]]), np.array([-5.0])])
    return model


def test_plot_disk_predictions_counts_errors_and_draws_the_boundary(tmp_path):
    x = torch.rand(200, 2, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0.5).float()
    y[:10] = 1 - y[:10]  # ten wrong labels -> ten red points
    fig = plot_disk_predictions(threshold_model(), x, y[:, None], path=tmp_path / "d.png",
                                resolution=50, true_disk=((0.5, 0.5), 1 / math.sqrt(2 * math.pi)))
    assert png_ok(tmp_path / "d.png")
    ax = fig.get_axes()[0]
    assert "accuracy 95.0% on 200 points" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["correct (190)", "incorrect (10)"]
    wrong = ax.collections[-1].get_offsets()  # the red points are the last scatter
    assert np.allclose(np.sort(wrong[:, 0]), np.sort(x[:10, 0].numpy()))


def test_plot_disk_predictions_multi_output_and_one_hot(tmp_path):
    model = ks.Sequential([ks.Input((2,)), ks.layers.Dense(2, activation="softmax")])
    model.set_weights([np.array([[-10.0, 10.0], [0.0, 0.0]]), np.array([5.0, -5.0])])
    x = np.random.default_rng(0).random((100, 2))
    one_hot = np.eye(2)[(x[:, 0] > 0.5).astype(int)]
    fig = plot_disk_predictions(model, x, one_hot, resolution=20)
    assert "accuracy 100.0%" in fig.get_axes()[0].get_title()


@pytest.mark.parametrize("x, y, kwargs, error, match", [
    (np.zeros((5, 3)), np.zeros(5), {}, ValueError, r"x: expected points of shape \(n, 2\)"),
    (np.zeros((5, 2)), np.zeros(4), {}, ValueError, "expected 5 labels"),
    (np.zeros((5, 2)), np.zeros(5), {"resolution": 1}, ValueError, "resolution"),
    ("points", np.zeros(5), {}, TypeError, "Invalid x"),
])
def test_plot_disk_predictions_bad_input(x, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_disk_predictions(threshold_model(), x, y, **kwargs)


def test_plot_curves_over_seeds_mean_and_spread(tmp_path):
    runs = [{"loss": [1.0, 0.5, 0.2], "accuracy": [0.6, 0.8, 0.9],
             "val_loss": [1.2, 0.6, 0.3], "val_accuracy": [0.5, 0.7, 0.8]},
            {"loss": [0.8, 0.3], "accuracy": [0.8, 1.0],  # stopped early: cut to 2 epochs
             "val_loss": [1.0, 0.4], "val_accuracy": [0.7, 0.9]}]
    fig = plot_curves_over_seeds(runs, path=tmp_path / "c.png")
    assert png_ok(tmp_path / "c.png")
    loss_ax, err_ax = fig.get_axes()
    train_loss, test_loss = loss_ax.get_lines()
    assert np.allclose(train_loss.get_ydata(), [0.9, 0.4])
    assert np.allclose(test_loss.get_ydata(), [1.1, 0.5])
    train_err, test_err = err_ax.get_lines()
    assert np.allclose(train_err.get_ydata(), [0.3, 0.1])
    assert np.allclose(test_err.get_ydata(), [0.4, 0.2])
    band = loss_ax.collections[0].get_paths()[0].vertices[:, 1]
    sd = np.std([1.0, 0.8], ddof=1)
    assert np.isclose(band.max(), 0.9 + sd) and np.isclose(band.min(), 0.4 - sd)


def test_plot_curves_over_seeds_real_histories_and_range(tmp_path):
    histories = [small_fit(epochs=2, validation_split=0.25) for _ in range(2)]
    fig = plot_curves_over_seeds(histories, path=tmp_path / "r.png", spread="range")
    assert png_ok(tmp_path / "r.png") and len(fig.get_axes()) == 2
    only_loss = plot_curves_over_seeds([{"loss": [1.0, 0.5]}])
    assert len(only_loss.get_axes()) == 1


@pytest.mark.parametrize("histories, kwargs, error, match", [
    ([], {}, ValueError, "at least one"),
    ({"loss": [1.0]}, {}, TypeError, "list of History"),
    ([{"accuracy": [0.5]}], {}, ValueError, "'loss'"),
    ([{"loss": [1.0]}], {"spread": "iqr"}, ValueError, "spread"),
])
def test_plot_curves_over_seeds_bad_input(histories, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_curves_over_seeds(histories, **kwargs)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"kerasette\[examples\]"):
        plot_history({"loss": [1.0]})


def test_importing_kerasette_plotting_does_not_import_matplotlib():
    code = ("import sys, kerasette, kerasette.plotting; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
