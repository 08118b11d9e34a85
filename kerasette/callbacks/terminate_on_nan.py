"""`TerminateOnNaN`: stop at the first non-finite loss or gradient, keeping the last finite weights."""

import math

import numpy as np
import torch

from .callback import Callback


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss, or any of whose gradients, is NaN or infinite.

    The check runs in `on_backward_end`, after the gradients of that batch are computed and
    before the optimizer applies them; setting `model.stop_training` there cancels the step.
    So the model keeps the weights of the last finite step (Keras checks the loss only, after the
    step, when the NaN has already reached the weights). A finite loss can still have an
    overflowing gradient (inputs around 1e19 in float32): the gradients are checked too, with one
    reduction over the flat gradient buffer (`model.optimizer.buffer.grads`).

    A message names the epoch (1-based) and the batch (0-based); `stopped_epoch`,
    `stopped_batch`, `bad_loss` and `bad_gradient` (True when the gradients were at fault) keep
    them for inspection. `raise_error=True` (Keras 3) raises a RuntimeError instead of stopping
    gracefully, also before the step, and skips the other callbacks' `on_train_end`.

    Not covered: an update that overflows although loss and gradients are finite (a learning rate
    near 1e38); the next batch's loss is then non-finite and training stops there.

    Cost: one wait for the device per batch (the loss and the gradient check are read together).
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        if not isinstance(raise_error, (bool, np.bool_)):
            raise TypeError(f"Invalid raise_error for TerminateOnNaN: expected True or False, "
                            f"received {raise_error!r}")
        self.raise_error = bool(raise_error)
        self._reset()

    def _reset(self) -> None:
        self.stopped_epoch = None
        self.stopped_batch = None
        self.bad_loss = None
        self.bad_gradient = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_backward_end(self, batch, logs=None):
        buffer = getattr(getattr(self.model, "optimizer", None), "buffer", None)
        grads_ok = None if buffer is None else torch.isfinite(buffer.grads).all()  # queued, no wait
        loss = (logs or {}).get("loss")
        loss_bad = loss is not None and not math.isfinite(loss)
        grads_bad = grads_ok is not None and not bool(grads_ok)
        if not (loss_bad or grads_bad):
            return
        self.stopped_epoch, self.stopped_batch, self.bad_loss = self._epoch, batch, loss
        self.bad_gradient = grads_bad and not loss_bad
        what = f"loss is {loss}" if loss_bad else f"a gradient is NaN or infinite (loss {loss})"
        message = (f"TerminateOnNaN: {what} at epoch {self._epoch + 1}, batch {batch}; "
                   f"training stopped before this step was applied")
        if self.raise_error:
            raise RuntimeError(message)
        print(message + " (the weights are those of the last finite step).", flush=True)
        self.model.stop_training = True
