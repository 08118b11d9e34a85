"""`LearningRateScheduler`: set the learning rate at the start of every epoch."""

import inspect

from ._lr import check_settable, get_lr, set_lr
from .callback import Callback


def _takes_lr(fn) -> bool:
    """Whether `fn` accepts (epoch, lr); Keras also accepts the old one-argument `fn(epoch)`."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: assume the current API
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


class LearningRateScheduler(Callback):
    """At the start of epoch `epoch` (0-based, counting from `initial_epoch` as fit does) set
    `lr = schedule(epoch, lr)`, `lr` being the current learning rate (a one-argument
    `schedule(epoch)` is accepted too). The rate used in each epoch is logged as
    "learning_rate" in the epoch logs (so in History, CSVLogger and the progress line).

    The schedule must return a finite number >= 0 (ValueError otherwise). The optimizer must
    have a float learning rate, not a schedule object (TypeError at the start of training).
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"Invalid schedule for LearningRateScheduler: expected a function "
                            f"(epoch, lr) -> lr, received {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _takes_lr(schedule)

    def on_train_begin(self, logs=None):
        check_settable(self.model, "LearningRateScheduler")

    def on_epoch_begin(self, epoch, logs=None):
        lr = get_lr(self.model, "LearningRateScheduler")
        new = self.schedule(epoch, lr) if self._takes_lr else self.schedule(epoch)
        if hasattr(new, "item") and getattr(new, "ndim", 1) == 0:  # a 0-d tensor or array
            new = new.item()
        new = set_lr(self.model, new, "LearningRateScheduler")
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_lr(self.model, "LearningRateScheduler")
