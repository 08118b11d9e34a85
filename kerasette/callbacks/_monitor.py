"""What EarlyStopping, ReduceLROnPlateau and ModelCheckpoint share: reading a monitored value
from the epoch logs and deciding whether larger or smaller is better."""

import numbers
import warnings

# Metric names where larger is better; anything else (losses, errors, mse, mae...) is minimised.
_MAX_WORDS = ("acc", "accuracy", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2")


def check_mode(mode, owner: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"Invalid mode for {owner}: expected 'auto', 'min' or 'max', "
                         f"received {mode!r}")
    return mode


def check_monitor(monitor, owner: str) -> str:
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"Invalid monitor for {owner}: expected a metric name such as "
                        f"'val_loss', received {monitor!r}")
    return monitor


def check_number(value, name: str, owner: str, minimum=None, integer=False, allow_none=False):
    """`value` unchanged if it is a real number (an int if `integer`) >= `minimum`; else raise."""
    if value is None and allow_none:
        return None
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or value != value \
            or (minimum is not None and value < minimum):
        what = "an int" if integer else "a number"
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"Invalid {name} for {owner}: expected {what}{bound}, received {value!r}")
    return value


def check_verbose(verbose, owner: str) -> int:
    """`verbose` as an int >= 0; False / True count as 0 / 1 (Keras takes `verbose=True`)."""
    return check_number(int(verbose) if isinstance(verbose, bool) else verbose, "verbose", owner,
                        minimum=0, integer=True)


def wants_max(monitor: str, mode: str) -> bool:
    """True when a larger value is better. "auto" reads the name (without "val_"): losses and
    errors go down; accuracy, AUC, precision, recall, F1, IoU and R2 go up (Keras 3 asks the
    metric object instead, and refuses names it does not know; we fall back to "min")."""
    if mode != "auto":
        return mode == "max"
    name = monitor.lower().removeprefix("val_")
    if "loss" in name:
        return False
    parts = name.replace("-", "_").split("_")
    return "acc" in name or any(p in _MAX_WORDS for p in parts)


class MonitorReader:
    """Reads `monitor` from epoch logs; warns once per fit when it is missing, naming the keys.

    A "val_*" key missing from an epoch that was not validated at all (no val_* key: the model
    validates only every `validation_freq` epochs) is skipped silently; if such a key is never
    seen during the whole fit, `finish()` warns at the end of training.
    """

    def __init__(self, monitor: str, owner: str):
        self.monitor, self.owner = monitor, owner
        self.reset()

    def reset(self) -> None:
        self.warned = False
        self.seen = False
        self.reads = 0

    def read(self, logs):
        logs = logs or {}
        self.reads += 1
        value = logs.get(self.monitor)
        if value is not None:
            self.seen = True
            return float(value)
        unvalidated = self.monitor.startswith("val_") and not any(
            k.startswith("val_") for k in logs)
        if not unvalidated:
            self._warn(logs)
        return None

    def finish(self) -> None:
        if self.reads and not self.seen:
            self._warn(None)

    def _warn(self, logs) -> None:
        if self.warned:
            return
        self.warned = True
        keys = "(no epoch was validated)" if logs is None else ", ".join(logs) or "(none)"
        hint = (" Pass validation_data or validation_split to fit."
                if self.monitor.startswith("val_") else "")
        warnings.warn(f"{self.owner} monitors '{self.monitor}', which is not in the epoch logs. "
                      f"Available keys: {keys}.{hint}", RuntimeWarning, stacklevel=3)
