"""`History`: the per-epoch record that `fit` returns."""

from .callback import Callback


class History(Callback):
    """Records every epoch's logs. Added to every `fit`; `fit` returns it and sets `model.history`.

    `history.history[key]` is the list of that key's values, one per epoch in which the key was
    logged (a val_* key only on validated epochs, as in Keras); `history.epoch` the 0-based epoch
    numbers; `history.params` the fit parameters (`epochs`, `steps`, `verbose`).

    It runs after the other callbacks (see CallbackList), so it records keys they add, such as
    "learning_rate". Unlike Keras, which clears `epoch` but keeps appending to `history` when an
    instance is reused, both are reset in `on_train_begin`: one fit, one record.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
