"""`Callback`: the base class of everything that watches or steers `fit`, `evaluate` and `predict`.

Hooks (Keras 3 names; `logs` is a mapping name -> float):

    on_train_begin(logs)          on_train_end(logs)
    on_epoch_begin(epoch, logs)   on_epoch_end(epoch, logs)        epoch is 0-based
    on_train_batch_begin(batch, logs)  on_train_batch_end(batch, logs)
    on_backward_end(batch, logs)  gradients computed, optimizer step not yet applied
    on_test_begin(logs)           on_test_end(logs)
    on_test_batch_begin(batch, logs)   on_test_batch_end(batch, logs)
    on_predict_begin(logs)        on_predict_end(logs)
    on_predict_batch_begin(batch, logs)  on_predict_batch_end(batch, logs)

`on_batch_begin` / `on_batch_end` are Keras's backwards-compatible aliases of the train-batch hooks.
"""

# Hook families the fit loop can skip entirely when nobody listens (see `Callback`).
BATCH_HOOKS = {
    "train_batch": ("on_train_batch_begin", "on_train_batch_end"),
    "backward": ("on_backward_end",),
    "test_batch": ("on_test_batch_begin", "on_test_batch_end"),
    "predict_batch": ("on_predict_batch_begin", "on_predict_batch_end"),
}
ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}
HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_backward_end",
    "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end",
)


def overrides(obj, name: str, base: type) -> bool:
    """Whether `obj` replaces `base.name`: in its class (a subclass method) or on the instance
    (an attribute, as `LambdaCallback` sets). The Keras alias of a train-batch hook counts too."""
    names = (name, ALIASES[name]) if name in ALIASES else (name,)
    for n in names:
        if n in vars(obj) or getattr(type(obj), n, None) is not getattr(base, n, None):
            return True
    return False


class Callback:
    """Base class: every hook does nothing. Subclass it and override the hooks you need.

    Attributes set by the callback list before training: `self.model` (the model being trained)
    and `self.params` (a dict with `epochs`, `steps` = batches per epoch or None, `verbose`).

    Cheap when nobody listens. The fit loop calls a family of batch hooks (train batch, backward,
    test batch, predict batch) only if some callback asks for it; the callback list asks each
    callback once, when it is built (and again on `set_params`), through `_wants_hook(name)`.
    The default answers True exactly when the hook is overridden, so a plain subclass just works.
    A callback that needs a batch hook only in some configurations (a progress bar with
    verbose=2, a checkpoint saved once per epoch) overrides `_wants_hook` to say no; the decision
    may depend on the constructor arguments and on `self.params`, nothing that changes later.

    Batch logs are read-only mappings whose values are computed lazily: reading `logs["loss"]`
    waits for the device. Read them only when needed (the progress bar reads them only when it
    redraws). `on_train_batch_end` receives the epoch's running averages so far;
    `on_backward_end` receives {"loss": this batch's loss}. Epoch logs (`on_epoch_end`) are a
    plain dict of floats that callbacks may add keys to (e.g. "learning_rate"); the callback
    list passes the same dict to every callback, History and the progress bar last.

    Callbacks talk to training only through `logs` and `self.model.stop_training` (True stops
    after the current batch; set inside `on_backward_end` it also cancels that batch's step), and
    reset their per-run state in `on_train_begin` so one instance can serve several fits.
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def _wants_hook(self, name: str) -> bool:
        """Whether the callback list must call hook `name` on this callback (see class doc)."""
        return overrides(self, name, Callback)

    # ----- training -----
    def on_train_begin(self, logs=None):
        """Called once at the start of `fit`."""

    def on_train_end(self, logs=None):
        """Called once at the end of `fit` (also after Ctrl-C, before it is re-raised), with the
        last epoch's logs (empty if no epoch ended), as in Keras."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each epoch (0-based `epoch`)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of each epoch with the epoch's loss, metrics and val_* values."""

    def on_batch_begin(self, batch, logs=None):
        """Keras alias of `on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """Keras alias of `on_train_batch_end`."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before the forward pass of training batch `batch` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after the optimizer step; logs hold the running epoch averages (lazy)."""
        self.on_batch_end(batch, logs)

    def on_backward_end(self, batch, logs=None):
        """Called when the gradients are ready and not yet applied; logs = {"loss": batch loss}."""

    # ----- evaluation -----
    def on_test_begin(self, logs=None):
        """Called at the start of `evaluate` and of each validation pass inside `fit`."""

    def on_test_end(self, logs=None):
        """Called at the end of an evaluation with its final loss and metrics."""

    def on_test_batch_begin(self, batch, logs=None):
        """Called before evaluation batch `batch`."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after evaluation batch `batch`; logs hold running averages (lazy)."""

    # ----- prediction -----
    def on_predict_begin(self, logs=None):
        """Called at the start of `predict`."""

    def on_predict_end(self, logs=None):
        """Called at the end of `predict`."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before prediction batch `batch`."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after prediction batch `batch`; logs = {"outputs": the batch's predictions}."""
