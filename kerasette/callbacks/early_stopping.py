"""`EarlyStopping`: stop training when a monitored quantity stops improving."""

from ._monitor import MonitorReader, check_mode, check_monitor, check_number, check_verbose, wants_max
from .callback import Callback


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs (Keras 3 arguments).

    Each monitored epoch (epoch >= `start_from_epoch`, value present) does `wait += 1`; then, for
    mode "min", the value `current` is an improvement when `current + min_delta < best` (for
    "max": `current - min_delta > best`; `min_delta` is taken as |min_delta|; the first value is
    always an improvement). An improvement records `best` (and the weights when
    `restore_best_weights`) and resets `wait = 0`, but when `baseline` is given only if `current`
    also improves on the baseline. Training stops when `wait >= patience` and `epoch > 0`.
    "auto" mode maximises accuracy-like names (acc, auc, precision, recall, f1...) and minimises
    everything else.

    Different from Keras, on purpose:
      - best weights are restored at the end of training whenever they were recorded, also when
        training ran out of epochs before patience did (Keras 2 restored only on an early stop);
      - with a baseline, an epoch that improves on the best but not on the baseline can still
        stop training (Keras returns early on any improvement, so a slowly improving run that
        never reaches the baseline is never stopped, contrary to its documentation);
      - a NaN value is never an improvement;
      - a bad `mode` or `patience` is an error, not a warning;
      - a missing monitored key warns once per fit (listing the available keys), not every epoch;
        epochs without validation (validation_freq > 1) are skipped silently.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        owner = "EarlyStopping"
        self.monitor = check_monitor(monitor, owner)
        self.min_delta = abs(check_number(min_delta, "min_delta", owner))
        self.patience = check_number(patience, "patience", owner, minimum=0, integer=True)
        self.verbose = check_verbose(verbose, owner)
        self.mode = check_mode(mode, owner)
        self.baseline = check_number(baseline, "baseline", owner, allow_none=True)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_number(start_from_epoch, "start_from_epoch", owner,
                                             minimum=0, integer=True)
        self._maximize = wants_max(self.monitor, self.mode)
        self._reader = MonitorReader(self.monitor, owner)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None
        self._reader.reset()

    def _is_improvement(self, value: float, reference) -> bool:
        if value != value:  # NaN never improves (Keras would make it the best, forever)
            return False
        if reference is None:
            return True
        if self._maximize:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = self._reader.read(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing recorded yet (a NaN first value): the current weights are the best known.
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._reader.finish()
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
