"""`ReduceLROnPlateau`: divide the learning rate when a monitored quantity stops improving."""

from ._lr import check_settable, get_lr, set_lr
from ._monitor import MonitorReader, check_mode, check_monitor, check_number, check_verbose, wants_max
from .callback import Callback


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement
    (Keras 3 arguments and rules).

    Improvement (mode "min"): `current < best - min_delta` ("max": `current > best + min_delta`).
    Each epoch with a value: if in cooldown, count the cooldown down and clear `wait`; then an
    improvement sets `best` and clears `wait`; otherwise, out of cooldown, `wait += 1`, and when
    `wait >= patience` and `lr > min_lr`, `lr = max(lr * factor, min_lr)`, the cooldown starts
    (`cooldown` epochs) and `wait = 0`.
    "auto" mode as in EarlyStopping (Keras's own "auto" only looks for "acc" in the name).
    The rate used during the epoch is logged as "learning_rate" before any reduction.
    State resets in `on_train_begin`; a missing monitored key warns once per fit. An optimizer
    with a learning-rate schedule is a TypeError at the start of training.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        owner = "ReduceLROnPlateau"
        self.monitor = check_monitor(monitor, owner)
        factor = check_number(factor, "factor", owner, minimum=0)
        if not factor < 1.0:
            raise ValueError(f"Invalid factor for ReduceLROnPlateau: expected a number in "
                             f"[0, 1), received {factor!r}")
        self.factor = float(factor)
        self.patience = check_number(patience, "patience", owner, minimum=0, integer=True)
        self.verbose = check_verbose(verbose, owner)
        self.mode = check_mode(mode, owner)
        self.min_delta = abs(check_number(min_delta, "min_delta", owner))
        self.cooldown = check_number(cooldown, "cooldown", owner, minimum=0, integer=True)
        self.min_lr = float(check_number(min_lr, "min_lr", owner, minimum=0))
        self._maximize = wants_max(self.monitor, self.mode)
        self._reader = MonitorReader(self.monitor, owner)
        self._reset()

    def _reset(self) -> None:
        self.best = float("-inf") if self._maximize else float("inf")
        self.wait = 0
        self.cooldown_counter = 0
        self._reader.reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _improved(self, current: float) -> bool:
        if self._maximize:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()
        check_settable(self.model, "ReduceLROnPlateau")

    def on_epoch_end(self, epoch, logs=None):
        lr = get_lr(self.model, "ReduceLROnPlateau")
        if logs is not None:
            logs["learning_rate"] = lr
        current = self._reader.read(logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new = set_lr(self.model, max(lr * self.factor, self.min_lr), "ReduceLROnPlateau")
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def on_train_end(self, logs=None):
        self._reader.finish()
