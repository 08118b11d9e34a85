"""`ModelCheckpoint`: save the model (or its weights) during training."""

import os
import string
import warnings

from ._monitor import MonitorReader, check_mode, check_monitor, check_number, check_verbose, wants_max
from .callback import Callback, overrides


class ModelCheckpoint(Callback):
    """Save with `model.save(path)` (or `model.save_weights(path)` when `save_weights_only`)
    at the end of every epoch (`save_freq="epoch"`) or every `save_freq` training batches.

    `filepath` may hold format fields filled from the epoch (1-based, as Keras), the batch
    (1-based, batch-frequency saves only) and the logs: "ckpt-{epoch:02d}-{val_loss:.4f}.pt".
    The model's saving writes atomically (temporary file + rename), so a crash never leaves a
    half-written checkpoint. Missing folders are created.

    `save_best_only`: save only when `monitor` improves on the best value so far (mode as in
    EarlyStopping; the first value improves on `initial_value_threshold`, or always if None).
    Unlike Keras, when the monitored value is missing (e.g. an epoch without validation) nothing
    is saved and a warning is given once: saving would overwrite the best model with one that
    was never compared. The best value is reset in `on_train_begin`.
    A batch-frequency save monitors the running epoch averages of that batch's logs.

    The format fields of `filepath` are checked twice before anything trains. At construction:
    the string must parse, and hold named fields only ("{}" has no name to fill). At
    `on_train_begin`, against what the callback can know then: `self.params` (epochs, steps,
    verbose), the model's `metrics_names` (loss and compiled metrics, once fit has resolved them;
    with a Dataset they resolve at the first batch, so only "val_" fields are checked then) and
    whether this fit has validation data. Allowed: "epoch", "batch" (batch-frequency saves),
    those names, "learning_rate" (logged by LearningRateScheduler / ReduceLROnPlateau) and, with
    validation data and epoch-frequency saves, their "val_" forms. Anything else is a ValueError
    naming the field and the keys fit will log (Keras fails with a KeyError after the first epoch
    has trained). A key that only your own callback adds to the logs is refused too: put it in
    the path yourself. With `validation_freq` > 1, an epoch without validation has no "val_"
    values: its save is skipped, with a warning once.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        owner = "ModelCheckpoint"
        if not isinstance(filepath, (str, os.PathLike)) or not os.fspath(filepath):
            raise TypeError(f"Invalid filepath for ModelCheckpoint: expected a non-empty path, "
                            f"received {filepath!r}")
        self.filepath = os.fspath(filepath)
        self._fields = _format_fields(self.filepath)
        self.monitor = check_monitor(monitor, owner)
        self.verbose = check_verbose(verbose, owner)
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = check_mode(mode, owner)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"Invalid save_freq for ModelCheckpoint: expected 'epoch' or a "
                             f"positive number of batches, received {save_freq!r}")
        self.save_freq = save_freq
        self.initial_value_threshold = check_number(
            initial_value_threshold, "initial_value_threshold", owner, allow_none=True)
        self._maximize = wants_max(self.monitor, self.mode)
        self._reader = MonitorReader(self.monitor, owner)
        self._reset()

    def _reset(self) -> None:
        self.best = self.initial_value_threshold
        self._batches_since_save = 0
        self._epoch = 0
        self._reader.reset()
        self._warned_unvalidated = False

    def _wants_hook(self, name: str) -> bool:
        if name == "on_train_batch_end":  # per-batch calls only for a batch frequency
            return self.save_freq != "epoch" or overrides(self, name, ModelCheckpoint)
        return super()._wants_hook(name)

    def on_train_begin(self, logs=None):
        self._reset()
        self._check_fields()

    def _check_fields(self) -> None:
        """ValueError for a format field fit will not log (see the class doc)."""
        model = self.model
        validation = getattr(model, "_fit_has_validation", None)
        names = list(getattr(model, "metrics_names", None) or ["loss"])
        complete = bool(getattr(model, "_metrics_resolved", False))  # arrays: before this hook
        known = {"epoch", "learning_rate", *names}
        if self.save_freq != "epoch":
            known.add("batch")
        elif validation:
            known |= {"val_" + n for n in names}
        for field in self._fields:
            if field in known:
                continue
            if field.startswith("val_") and self.save_freq != "epoch":
                why = "batch-frequency saves see training logs only"
            elif field.startswith("val_") and validation is False:
                why = "this fit has no validation data"
            elif complete and (validation is not None or not field.startswith("val_")):
                why = "fit does not log it"
            else:
                continue  # cannot be known yet (metrics resolve at a Dataset's first batch)
            raise ValueError(f"Invalid filepath for ModelCheckpoint: {{{field}}} in "
                             f"{self.filepath!r} cannot be filled ({why}); the fields fit will "
                             f"log are {', '.join(sorted(known))}")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def on_train_end(self, logs=None):
        if self.save_best_only:
            self._reader.finish()

    def _improved(self, value: float) -> bool:
        if value != value:
            return False
        if self.best is None:
            return True
        return value > self.best if self._maximize else value < self.best

    def _save(self, epoch: int, batch, logs) -> None:
        logs = dict(logs or {})  # reads lazy batch logs: only when a save is due
        path = self.filepath_for(epoch, batch, logs)
        if path is None:
            return
        if self.save_best_only:
            current = self._reader.read(logs)
            if current is None:
                return
            best = "None" if self.best is None else f"{self.best:.5f}"  # Keras's message
            if not self._improved(current):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {best}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def filepath_for(self, epoch: int, batch, logs: dict):
        """`filepath` with its fields filled: epoch and batch 1-based, then the logs; None (and a
        warning, once) when only "val_" values are missing, from an epoch without validation."""
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        missing = [f for f in self._fields if f not in fields]
        if missing and all(f.startswith("val_") for f in missing) and not any(
                k.startswith("val_") for k in fields):
            if not self._warned_unvalidated:
                self._warned_unvalidated = True
                warnings.warn(f"ModelCheckpoint: epoch {epoch + 1} was not validated, so "
                              f"{self.filepath!r} cannot be filled ({', '.join(missing)}); "
                              f"its save is skipped", RuntimeWarning, stacklevel=3)
            return None
        try:
            path = self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise KeyError(f"ModelCheckpoint cannot fill filepath {self.filepath!r}: {e!r}; "
                           f"available fields: {', '.join(fields)}") from e
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        return path


def _format_fields(filepath: str) -> list:
    """The names of the format fields in `filepath` ("{val_loss:.2f}" -> "val_loss")."""
    try:
        parsed = list(string.Formatter().parse(filepath))
    except ValueError as e:
        raise ValueError(f"Invalid filepath for ModelCheckpoint: {filepath!r} is not a valid "
                         f"format string ({e}); double braces to write a literal one") from e
    names = []
    for _, field, _, _ in parsed:
        if field is None:
            continue
        name = field.split(".", 1)[0].split("[", 1)[0]
        if not name or name.isdigit():
            raise ValueError(f"Invalid filepath for ModelCheckpoint: {filepath!r} has a positional "
                             f"field {{{field}}}; name it, e.g. {{epoch:02d}} or {{val_loss:.4f}}")
        names.append(name)
    return names
