"""`CallbackList`: calls a hook on every callback that listens to it, in a fixed order."""

from .callback import BATCH_HOOKS, HOOKS, Callback
from .history import History
from .progbar_logger import ProgbarLogger


def _describe(item) -> str:
    if isinstance(item, type) and issubclass(item, Callback):
        return f"the class {item.__name__} itself; create one: {item.__name__}(...)"
    return f"an item of type {type(item).__name__}"


class CallbackList(Callback):
    """The callbacks of one `fit` / `evaluate` / `predict` call, dispatched as one.

    `CallbackList(callbacks=None, add_history=False, add_progbar=False, model=None, **params)`;
    params are `epochs`, `steps` (batches per epoch, or None if unknown) and `verbose`.
    `add_history` adds a History unless the list holds one (reachable as `.history`), and
    `add_progbar` a ProgbarLogger unless the list holds one.

    Order: the user's callbacks in their order, then History, then the progress bar, wherever
    the user put those two. So History records, and the progress bar prints, the epoch logs after
    every other callback had its say: "learning_rate" added by LearningRateScheduler or
    ReduceLROnPlateau shows up in `history.history` and on the progress line.

    Cheap when nobody listens: for each hook the list keeps the callbacks that want it (asked
    once, via `Callback._wants_hook`), and exposes `has_train_batch_hooks`,
    `has_backward_hooks`, `has_test_batch_hooks`, `has_predict_batch_hooks` so the loop can skip
    the calls, and the building of batch logs, entirely.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        elif not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"Invalid callbacks: expected a list of Callback instances, received "
                            f"{type(callbacks).__name__}")
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Invalid callbacks: expected Callback instances, received "
                                f"{_describe(cb)}")
        cbs = list(callbacks)
        if add_history and not any(isinstance(cb, History) for cb in cbs):
            cbs.append(History())
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
            cbs.append(ProgbarLogger())
        # Stable reorder: others, then History, then progress bars (see class doc).
        rank = {History: 1, ProgbarLogger: 2}
        self.callbacks = sorted(cbs, key=lambda cb: next(
            (r for t, r in rank.items() if isinstance(cb, t)), 0))
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self.set_model(model)
        self.set_params(params)

    def set_model(self, model) -> None:
        self.model = model
        if model is None:
            return
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict) -> None:
        self.params = dict(params)
        for cb in self.callbacks:
            cb.set_params(dict(params))
        self._route()

    def _route(self) -> None:
        """Ask every callback which hooks it wants; cache the listeners and the has_* flags."""
        self._listeners = {h: [cb for cb in self.callbacks if cb._wants_hook(h)] for h in HOOKS}
        wants = {fam: any(self._listeners[h] for h in hooks) for fam, hooks in BATCH_HOOKS.items()}
        self.has_train_batch_hooks = wants["train_batch"]
        self.has_backward_hooks = wants["backward"]
        self.has_test_batch_hooks = wants["test_batch"]
        self.has_predict_batch_hooks = wants["predict_batch"]

    def _wants_hook(self, name: str) -> bool:  # a list nested in a list
        return bool(self._listeners[name])

    def append(self, callback: Callback) -> None:
        """Add a callback before History and the progress bar (re-computes the has_* flags)."""
        if not isinstance(callback, Callback):
            raise TypeError(f"Invalid callback: expected a Callback instance, received "
                            f"{_describe(callback)}")
        cbs = self.callbacks
        at = next((i for i, cb in enumerate(cbs) if isinstance(cb, (History, ProgbarLogger))),
                  len(cbs))
        cbs.insert(at, callback)
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(dict(self.params))
        self._route()

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    # ----- dispatch: one loop per hook over the callbacks that listen -----
    def on_train_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_train_begin"]:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_train_end"]:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_epoch_begin"]:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_epoch_end"]:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_train_batch_begin"]:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_train_batch_end"]:
            cb.on_train_batch_end(batch, logs)

    def on_backward_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_backward_end"]:
            cb.on_backward_end(batch, logs)

    def on_test_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_test_begin"]:
            cb.on_test_begin(logs)

    def on_test_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_test_end"]:
            cb.on_test_end(logs)

    def on_test_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_test_batch_begin"]:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_test_batch_end"]:
            cb.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_predict_begin"]:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_predict_end"]:
            cb.on_predict_end(logs)

    def on_predict_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_predict_batch_begin"]:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self._listeners["on_predict_batch_end"]:
            cb.on_predict_batch_end(batch, logs)
