"""Plots of training runs: curves from a `History`, and a 2-D classifier's test predictions.

matplotlib is imported inside each function, so `import kerasette` never needs it; install it with
`pip install "kerasette[examples]"` (or `pip install matplotlib`).

Every function returns a `matplotlib.figure.Figure` built without pyplot: nothing is registered
with a GUI backend, so figures made in a loop are freed like any object and the functions work on
a headless machine. Pass `path=` to save a PNG (or any format matplotlib knows from the suffix);
in Jupyter a returned figure displays when it is the cell's last value.

    history = model.fit(x, y, validation_split=0.2, epochs=50)
    ks.utils.plot_history(history, path="curves.png")
"""

import numpy as np

_INSTALL_HINT = ('{what} needs matplotlib, which kerasette does not install by default: '
                 'pip install "kerasette[examples]" (or pip install matplotlib)')


def _new_figure(what: str, ncols: int, width: float = 4.5, height: float = 3.6, epochs=True):
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # a clear message beats "No module named 'matplotlib'"
        raise ImportError(_INSTALL_HINT.format(what=what)) from err
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = list(fig.subplots(1, ncols, squeeze=False)[0])
    for ax in axes if epochs else ():
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    return fig, axes


def _save(fig, path):
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _history_dict(history, name="history") -> dict:
    """The `{key: [value per epoch]}` dict of a History, of a model that was fit, or a dict."""
    record = getattr(history, "history", history)
    if hasattr(record, "history") and not isinstance(record, dict):  # a model: model.history
        record = record.history
    if not isinstance(record, dict):
        raise TypeError(f"Invalid {name}: expected a History (what fit returns) or a dict of "
                        f"per-epoch lists, received {type(history).__name__}")
    if not record or not any(len(v) for v in record.values()):
        raise ValueError(f"Invalid {name}: it records no epochs (was fit run with epochs >= 1?)")
    return {k: [float(v) for v in values] for k, values in record.items()}


def _epochs_of(n_values: int, n_epochs: int) -> np.ndarray:
    """1-based epoch numbers for a key logged `n_values` times in `n_epochs` epochs.

    Validation keys are logged only on validated epochs; with `validation_freq=k` those are
    k, 2k, ..., which is what this returns when the counts differ.
    """
    if n_values == n_epochs or n_values == 0:
        return np.arange(1, n_values + 1)
    step = max(1, n_epochs // n_values)
    return np.arange(1, n_values + 1) * step


def plot_history(history, metrics=None, path=None):
    """One panel per metric of a training run, training and validation curves per epoch.

    Args:
        history: the `History` that `fit` returns (or its `.history` dict).
        metrics: names to plot, e.g. `["loss", "accuracy"]`; each panel also draws `val_<name>`
            when the history has it. Default: every key not starting with `val_`.
        path: where to save the figure (PNG by its suffix); None to only return it.

    Returns:
        the matplotlib Figure.
    """
    record = _history_dict(history)
    train_keys = [k for k in record if not k.startswith("val_")]
    if metrics is None:
        metrics = train_keys or [k[4:] for k in record]
    elif isinstance(metrics, str):
        metrics = [metrics]
    else:
        metrics = list(metrics)
    if not metrics:
        raise ValueError("Invalid metrics: expected at least one metric name, received none")
    for name in metrics:
        if not isinstance(name, str) or (name not in record and "val_" + name not in record):
            raise ValueError(f"Invalid metrics: {name!r} is not in the history; it has "
                             f"{sorted(record)}")
    fig, axes = _new_figure("plot_history", len(metrics))
    n_epochs = max(len(v) for v in record.values())
    for ax, name in zip(axes, metrics):
        for key, label, style in ((name, "training", "-"), ("val_" + name, "validation", "--")):
            values = record.get(key)
            if values:
                ax.plot(_epochs_of(len(values), n_epochs), values, style, label=label,
                        marker="o" if len(values) == 1 else None)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def _as_numpy(a, name) -> np.ndarray:
    if hasattr(a, "detach"):  # a torch tensor, on any device
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Invalid {name}: expected an array or tensor of numbers, received "
                        f"{type(a).__name__}") from err


def _classes(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Class index per row: one column -> score > threshold; several -> argmax."""
    if scores.ndim == 1 or scores.shape[1] == 1:
        return (scores.reshape(len(scores)) > threshold).astype(np.int64)
    return scores.argmax(1)


def plot_disk_predictions(model, x, y, path=None, resolution=200, threshold=0.5, true_disk=None):
    """A 2-D classifier on its test points: correct ones green '+', errors red dots (as seed 000
    drew them), over the model's decision regions and boundary.

    Args:
        model: a trained kerasette model taking 2 features.
        x: the points, shape (n, 2), in the coordinates the model was trained on.
        y: their labels: class indices (n,) or (n, 1), or one-hot (n, k).
        path: where to save the figure; None to only return it.
        resolution: grid points per axis for the decision regions.
        threshold: for a single-output model, the score above which a point is class 1
            (0.5 for a sigmoid output; 0 for tanh or a logit).
        true_disk: optional `((cx, cy), radius)` of the true boundary, drawn dashed (the seeds'
            disk is `((0.5, 0.5), 1 / sqrt(2 * pi))`).

    Returns:
        the matplotlib Figure; its title gives the accuracy on these points.
    """
    xs = _as_numpy(x, "x")
    if xs.ndim != 2 or xs.shape[1] != 2:
        raise ValueError(f"Invalid x: expected points of shape (n, 2), received {xs.shape}")
    labels = _as_numpy(y, "y")
    if labels.shape[0] != xs.shape[0]:
        raise ValueError(f"Invalid y: expected {xs.shape[0]} labels to match x, received "
                         f"{labels.shape[0]}")
    labels = labels.reshape(len(labels)) if labels.ndim == 1 or labels.shape[1] == 1 \
        else labels.argmax(1)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"Invalid resolution: expected an int >= 2, received {resolution!r}")

    dtype = np.float32
    predicted = _classes(_as_numpy(model.predict(xs.astype(dtype), verbose=0), "predictions"),
                         threshold)
    correct = predicted == labels.astype(np.int64)

    lo, hi = xs.min(0), xs.max(0)
    margin = 0.05 * (hi - lo + (hi == lo))
    gx, gy = np.meshgrid(np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution),
                         np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(dtype)
    regions = _classes(_as_numpy(model.predict(grid, batch_size=4096, verbose=0), "predictions"),
                       threshold).reshape(gx.shape)

    fig, (ax,) = _new_figure("plot_disk_predictions", 1, width=5.2, height=5.0,
                             epochs=False)
    n_classes = int(max(regions.max(), labels.max())) + 1
    ax.contourf(gx, gy, regions, levels=np.arange(n_classes + 1) - 0.5, cmap="Pastel1", alpha=0.6)
    ax.contour(gx, gy, regions, levels=np.arange(n_classes) + 0.5, colors="k", linewidths=1.2)
    ax.scatter(xs[correct, 0], xs[correct, 1], marker="+", s=22, c="tab:green",
               label=f"correct ({int(correct.sum())})")
    ax.scatter(xs[~correct, 0], xs[~correct, 1], marker="o", s=14, c="tab:red",
               label=f"incorrect ({int((~correct).sum())})")
    if true_disk is not None:
        (cx, cy), radius = true_disk
        t = np.linspace(0, 2 * np.pi, 400)
        ax.plot(cx + radius * np.cos(t), cy + radius * np.sin(t), "k--", lw=1, label="true boundary")
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"accuracy {correct.mean():.1%} on {len(xs)} points; solid line: decision "
                 f"boundary", fontsize=9)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    return _save(fig, path)


def _accuracy_key(record: dict):
    for key in record:
        if not key.startswith("val_") and "accuracy" in key:
            return key
    return None


def plot_curves_over_seeds(histories, path=None, spread="std"):
    """Training and test loss and error (1 - accuracy) per epoch over several runs: the mean as a
    line, the spread as a band (seed 004's figures 1 and 2, with the spread drawn).

    "Test" curves are the `val_` keys: fit with `validation_data=(x_test, y_test)`.

    Args:
        histories: a list of `History` objects (or dicts), one per seed. Runs of different
            lengths (early stopping) are cut to the shortest.
        path: where to save the figure; None to only return it.
        spread: "std" for mean ± one standard deviation, "range" for min..max.

    Returns:
        the matplotlib Figure: a loss panel, and an error panel when an accuracy was logged.
    """
    if spread not in ("std", "range"):
        raise ValueError(f"Invalid spread: expected 'std' or 'range', received {spread!r}")
    if isinstance(histories, dict) or not hasattr(histories, "__iter__"):
        raise TypeError(f"Invalid histories: expected a list of History objects, received "
                        f"{type(histories).__name__}")
    records = [_history_dict(h, "histories") for h in histories]
    if not records:
        raise ValueError("Invalid histories: expected at least one History, received none")
    if any("loss" not in r for r in records):
        raise ValueError("Invalid histories: every History must record 'loss'")
    acc_key = _accuracy_key(records[0])
    panels = [("loss", "loss", False)]
    if acc_key is not None and all(acc_key in r for r in records):
        panels.append((acc_key, "error (1 - accuracy)", True))

    fig, axes = _new_figure("plot_curves_over_seeds", len(panels))
    for ax, (key, title, as_error) in zip(axes, panels):
        for prefix, label, color in (("", "train", "tab:blue"), ("val_", "test", "tab:orange")):
            series = [r.get(prefix + key) for r in records]
            if any(not s for s in series):
                continue
            n = min(len(s) for s in series)
            values = np.array([s[:n] for s in series])
            if as_error:
                values = 1.0 - values
            epochs = np.arange(1, n + 1)
            mean = values.mean(0)
            if spread == "std":
                sd = values.std(0, ddof=1) if len(values) > 1 else np.zeros(n)
                low, high = mean - sd, mean + sd
            else:
                low, high = values.min(0), values.max(0)
            ax.plot(epochs, mean, color=color, label=f"{label} (mean of {len(values)})")
            ax.fill_between(epochs, low, high, color=color, alpha=0.2, linewidth=0)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        if as_error:
            ax.yaxis.set_major_formatter(_percent_formatter())
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0)
