"""`TerminateOnNaN`: stop at the first non-finite loss, keeping the last finite weights."""

import math

from .callback import Callback


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite.

    The check runs in `on_backward_end`, after the gradients of that batch are computed and
    before the optimizer applies them; setting `model.stop_training` there cancels the step.
    So the model keeps the weights of the last finite step (Keras checks after the step, when
    the NaN has already reached the weights). A message names the epoch (1-based) and the batch
    (0-based); `stopped_epoch`, `stopped_batch` and `bad_loss` keep them for inspection.
    `raise_error=True` (Keras 3) raises a RuntimeError instead of stopping gracefully, also
    before the step, and skips the other callbacks' `on_train_end`.

    Cost: reading the batch loss waits for the device once per batch.
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = bool(raise_error)
        self._reset()

    def _reset(self) -> None:
        self.stopped_epoch = None
        self.stopped_batch = None
        self.bad_loss = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_backward_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        self.stopped_epoch, self.stopped_batch, self.bad_loss = self._epoch, batch, loss
        message = (f"TerminateOnNaN: loss is {loss} at epoch {self._epoch + 1}, batch {batch}; "
                   f"training stopped before this step was applied")
        if self.raise_error:
            raise RuntimeError(message)
        print(message + " (the weights are those of the last finite step).", flush=True)
        self.model.stop_training = True
