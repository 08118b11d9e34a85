"""Helpers shared by the example scripts: the seeds' disk data, standardisation, threads, tables.

Examples run as `python examples/NAME.py`, which puts this folder on `sys.path`, so they import
these with `from _common import ...`.
"""

import argparse
import math
import statistics

import torch

RADIUS = 1 / math.sqrt(2 * math.pi)  # the disk of area 1/2 centred at (0.5, 0.5)


def make_disk_data(n: int, generator: torch.Generator):
    """The seeds' task: n points uniform in [0, 1]^2, label 1 inside the disk, else 0.

    Returns x of shape (n, 2) and y of shape (n, 1), both float32. About half the points are
    inside, since the disk's area is 1/2.
    """
    x = torch.rand(n, 2, generator=generator)
    y = ((x - 0.5).pow(2).sum(1) < RADIUS**2).float()[:, None]
    return x, y


def standardise(x_train, *others):
    """Shift and scale every array by the training set's per-feature mean and std.

    Statistics come from `x_train` only, so nothing about the test set leaks into training.
    A constant feature (std 0) is only centred. Works on NumPy arrays and torch tensors alike.
    Returns the standardised `x_train` followed by each of `others`.
    """
    mean = x_train.mean(0)
    std = x_train.std(0)
    std = std + (std == 0)  # constant feature: divide by 1
    return tuple((x - mean) / std for x in (x_train, *others))


def limit_threads(n: int | None) -> None:
    """Use `n` intra-op threads (None: leave torch's default).

    The seeds' nets are tiny (25 units): a second thread buys nothing, and on a busy machine the
    threads' synchronisation can make each step many times slower. So the disk examples default
    to one thread.
    """
    if n is not None:
        if n < 1:
            raise ValueError(f"Invalid threads: expected a positive int, received {n!r}")
        torch.set_num_threads(n)


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = [float(v) for v in values]
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def pct(mean: float, std: float | None = None, digits: int = 1) -> str:
    """'97.3%' or '97.3 ± 0.4%' from fractions."""
    if std is None:
        return f"{100 * mean:.{digits}f}%"
    return f"{100 * mean:.{digits}f} ± {100 * std:.{digits}f}%"


def format_table(headers, rows) -> list[str]:
    """A Markdown table (pipes and a dash rule) with columns padded to their widest cell."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(cells[0]), rule] + [line(row) for row in cells[1:]]


def print_table(headers, rows) -> list[str]:
    """Print `format_table(headers, rows)` and return its lines (the smoke tests read them)."""
    lines = format_table(headers, rows)
    print("\n".join(lines))
    return lines


# ----- the real-data recipe (tabular.py, digits.py) ---------------------------------------------
def split_and_standardise(x, y, test_size: float, seed: int):
    """Stratified train/test split with a fixed seed, then standardise with train statistics.

    `train_test_split` shuffles before splitting, so the training set is in random order and the
    last fraction that `fit(validation_split=...)` holds out is a fair sample, not one class.
    Returns float32 features and int64 labels: x_train, y_train, x_test, y_test.
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed, shuffle=True)
    x_train, x_test = standardise(x_train, x_test)
    return (x_train.astype(np.float32), y_train.astype(np.int64),
            x_test.astype(np.float32), y_test.astype(np.int64))


def fit_early_stopping(model, data, epochs: int, batch_size: int, patience: int,
                       validation_split: float = 0.2) -> dict:
    """Fit with a validation split and EarlyStopping(restore_best_weights=True), then test.

    Returns {"test": test accuracy, "epochs": epochs run, "best": the 1-based epoch whose
    weights were restored}.
    """
    import kerasette as ks

    x_train, y_train, x_test, y_test = data
    stop = ks.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                      restore_best_weights=True)
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                        validation_split=validation_split, callbacks=[stop], verbose=0)
    _, test_acc = model.evaluate(x_test, y_test, verbose=0)
    return {"test": float(test_acc), "epochs": len(history.epoch), "best": stop.best_epoch + 1}


def recipe_row(name: str, data, runs: list[dict], target: float) -> list:
    """One table row from `fit_early_stopping` results over seeds."""
    x_train, _, x_test, _ = data
    mean, std = mean_std(r["test"] for r in runs)
    worst = min(r["test"] for r in runs)
    epochs = mean_std(r["epochs"] for r in runs)[0]
    return [name, f"{len(x_train)} / {len(x_test)}", pct(mean, std), pct(worst),
            f"{epochs:.0f}", "yes" if mean >= target else "NO"]


RECIPE_HEADERS = ["data set", "train (20% val) / test", "test accuracy", "worst seed", "epochs run",
                  ">= 95%"]


def seeds_parser(doc: str, seeds: int, epochs: int, batch_size: int, seeds_help: str = "runs",
                 epochs_help: str = None,
                 threads_help: str = "torch intra-op threads") -> argparse.ArgumentParser:
    """The arguments every multi-seed example takes: --seeds, --epochs, --batch-size, --threads."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=seeds, help=f"{seeds_help} (default {seeds})")
    parser.add_argument("--epochs", type=int, default=epochs, help=epochs_help)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--threads", type=int, default=1, help=threads_help)
    return parser


def recipe_parser(doc: str, epochs: int, patience: int, batch_size: int) -> argparse.ArgumentParser:
    """`seeds_parser` (10 seeds) with the recipe's --split-seed and --patience."""
    parser = seeds_parser(doc, 10, epochs, batch_size, seeds_help="runs (per data set)",
                          epochs_help="at most; early stopping ends sooner")
    parser.add_argument("--split-seed", type=int, default=None,
                        help="one fixed train/test split for every run (default: split s for seed s)")
    parser.add_argument("--patience", type=int, default=patience)
    return parser


def parse_seeded(parser: argparse.ArgumentParser, argv):
    """Parse, rejecting --seeds below 1."""
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, received {args.seeds}")
    return args


def run_recipe(args, make_data, make_model):
    """Run s for s < args.seeds: data from `make_data(split)` (split s, or --split-seed), a fresh
    `make_model()` from seed s, `fit_early_stopping`. Returns (the last run's data, the runs)."""
    import kerasette as ks

    runs = []
    for seed in range(args.seeds):
        data = make_data(seed if args.split_seed is None else args.split_seed)
        ks.utils.set_random_seed(seed)
        runs.append(fit_early_stopping(make_model(), data, args.epochs, args.batch_size,
                                       args.patience))
    return data, runs


def split_note(args) -> str:
    """How the runs' train/test splits were chosen, for the line above the table."""
    return "split s for seed s" if args.split_seed is None else f"split seed {args.split_seed}"
