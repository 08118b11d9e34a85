"""`ProgbarLogger`: progress bars (tqdm) and one-line epoch summaries."""

import sys
import time

from tqdm.auto import tqdm

from .callback import Callback, overrides

_BATCH_ENDS = ("on_train_batch_end", "on_test_batch_end", "on_predict_batch_end")


def format_value(value) -> str:
    """Keras's number format: 4 decimals, scientific notation for tiny magnitudes."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.4e}"


def format_logs(logs) -> str:
    """ "loss: 0.1234 - accuracy: 0.9500" (reads every value: call only when printing)."""
    return " - ".join(f"{k}: {format_value(v)}" for k, v in logs.items())


def resolve_verbose(verbose) -> int:
    """0 silent, 1 progress bar, 2 one line per epoch; "auto": 1 on a terminal, else 2."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if isinstance(verbose, bool) or not isinstance(verbose, int) or verbose < 0:
        raise ValueError(f"Invalid verbose: expected 0, 1, 2 or 'auto', received {verbose!r}")
    return min(verbose, 2)


class ProgbarLogger(Callback):
    """Prints progress to stdout, following `params["verbose"]` (added by fit / evaluate / predict
    when verbose != 0).

    verbose=1: a tqdm bar per epoch ("Epoch 3/50") with the running loss and metrics, then the
    epoch's final logs (val_* included) on the finished bar. The bar redraws at most once per
    `refresh_interval` seconds, and the lazy batch logs are read only at those redraws, so the
    device is not synchronised every batch. In a notebook, tqdm's notebook bar is used.
    verbose=2: one line per epoch, nothing per batch (log files and CI stay readable):
        Epoch 3/50 - 0.12s - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2000
    verbose="auto": 1 if stdout is a terminal, else 2.

    It also shows `evaluate` (a bar, or "Evaluate - 0.05s - loss: ...") and `predict`; the
    validation inside `fit` is silent (its results appear in the epoch line). Batch hooks are
    requested only with verbose=1 (see `Callback._wants_hook`).
    """

    _clock = staticmethod(time.monotonic)  # tests may replace it on the instance

    def __init__(self, refresh_interval: float = 0.1, file=None):
        super().__init__()
        if isinstance(refresh_interval, bool) or not isinstance(refresh_interval, (int, float)) \
                or not refresh_interval >= 0:
            raise ValueError(f"Invalid refresh_interval: expected a number of seconds >= 0, "
                             f"received {refresh_interval!r}")
        self.refresh_interval = float(refresh_interval)
        self.file = file  # None: sys.stdout at the time of printing
        self.verbose, self.epochs, self.steps = 1, 1, None
        self._in_fit = False
        self._bar = None
        self._seen = 0
        self._t0 = 0.0
        self._next_draw = 0.0

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.verbose = resolve_verbose(params.get("verbose", 1))
        self.epochs = params.get("epochs") or 1
        self.steps = params.get("steps")

    def _wants_hook(self, name: str) -> bool:
        if name in _BATCH_ENDS:
            return self.verbose == 1 or overrides(self, name, ProgbarLogger)
        return super()._wants_hook(name)

    # ----- the bar -----
    def _open(self, desc: str) -> None:
        self._close()
        self._seen = 0
        self._t0 = self._clock()
        self._next_draw = self._t0 + self.refresh_interval
        if self.verbose == 1:
            self._bar = tqdm(total=self.steps, desc=desc, unit="step", leave=True,
                             file=self.file or sys.stdout, mininterval=0, miniters=1,
                             dynamic_ncols=True)

    def _step(self, batch: int, logs) -> None:
        self._seen = batch + 1
        if self._bar is None:
            return
        now = self._clock()
        if now < self._next_draw:
            return  # not redrawing: do not touch the (lazy) logs
        self._next_draw = now + self.refresh_interval
        if logs:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
        self._bar.update(self._seen - self._bar.n)

    def _finish(self, logs, head: str, tail: str | None = None) -> None:
        """Final state of the bar (verbose=1) or the one-line summary (verbose=2):
        "<head> - <seconds>s - <tail or logs>"."""
        if self._bar is not None:
            if self._bar.total is None:
                self._bar.total = self._seen
            if logs:
                self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.n = self._seen
            self._close()  # close() draws the final state
        elif self.verbose >= 2:
            parts = [head, f"{self._clock() - self._t0:.2f}s"]
            if tail or logs:
                parts.append(tail or format_logs(logs))
            print(" - ".join(parts), file=self.file or sys.stdout, flush=True)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # ----- fit -----
    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._close()  # a bar left open by an interrupted epoch
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            self._open(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._step(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose:
            self._finish(logs, f"Epoch {epoch + 1}/{self.epochs}")

    # ----- evaluate (silent inside fit) -----
    def on_test_begin(self, logs=None):
        if self.verbose and not self._in_fit:
            self._open("Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._step(batch, logs)

    def on_test_end(self, logs=None):
        if self.verbose and not self._in_fit:
            self._finish(logs, "Evaluate")

    # ----- predict -----
    def on_predict_begin(self, logs=None):
        if self.verbose:
            self._open("Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._step(batch, None)  # logs hold the outputs: nothing to show

    def on_predict_end(self, logs=None):
        if self.verbose:
            steps = self._seen or self.steps  # verbose=2 does not follow the batches
            self._finish(None, "Predict", f"{steps} steps" if steps else None)
