"""Callbacks that write files or print run on rank 0 only; every rank still calls the same hooks.

    callbacks = wrap_writers(callbacks, strategy)    # the trainer, once per fit, under a distribution

`WriterOnly(inner, strategy)` forwards each hook to `inner` on rank 0 only. Hooks of the train, epoch,
test and predict level end with `strategy.writer_section`: every rank meets there, and an exception
rank 0's callback raised (a full disk) reaches the other ranks as an error instead of a wait. Batch
hooks do not meet (no collective is added to a step); rank 0 just runs them.

`wrap_writers` wraps the library's writing callbacks (progress bar, CSVLogger, ModelCheckpoint,
TensorBoard, MLflowLogger) and leaves the others alone: History and the callbacks that steer training
(EarlyStopping, ReduceLROnPlateau, TerminateOnNaN, LearningRateScheduler) run on every rank on the
same reduced logs, so they decide alike.

BackupAndRestore is not wrapped: it both writes and restores, and does both itself on every rank
(kerasette/callbacks/backup_and_restore.py). Rank 0 writes and deletes the backup inside a
writer_section; rank 0 reads and checks it, every rank learns its verdict (a refusal is the same
ValueError everywhere), and the backup is broadcast from rank 0 and applied on the others, so
all ranks resume identically even where only rank 0 sees the file. `model.load_weights` reads the
file on each rank that calls it; fit then broadcasts rank 0's weights, layer state and generators
before its first step (`training.distributed.sync_replicas`), so loading on rank 0 alone is enough
for training.
"""

from ..callbacks.callback import BATCH_HOOKS, HOOKS, Callback

WRITERS = ("ProgbarLogger", "CSVLogger", "ModelCheckpoint", "TensorBoard", "MLflowLogger")
_BATCH = {h for hooks in BATCH_HOOKS.values() for h in hooks}


class WriterOnly(Callback):
    def __init__(self, inner: Callback, strategy):
        super().__init__()
        if not isinstance(inner, Callback):
            raise TypeError(f"Invalid inner: expected a ks.callbacks.Callback, received "
                            f"{type(inner).__name__}")
        self.inner, self.strategy = inner, strategy

    def __repr__(self):
        return f"WriterOnly({self.inner!r})"

    def set_model(self, model) -> None:
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.inner.set_params(params)

    def _wants_hook(self, name: str) -> bool:
        return self.inner._wants_hook(name)  # the same answer on every rank: the same calls


def _forward(name: str):
    def hook(self, *args, **kwargs):
        if name in _BATCH:
            if self.strategy.is_writer:
                getattr(self.inner, name)(*args, **kwargs)
            return
        with self.strategy.writer_section(f"{type(self.inner).__name__}.{name}") as writing:
            if writing:
                getattr(self.inner, name)(*args, **kwargs)

    hook.__name__ = name
    return hook


for _name in HOOKS:
    setattr(WriterOnly, _name, _forward(_name))


def wrap_writers(callbacks, strategy, writers=WRITERS) -> list:
    """`callbacks` with every instance of a class named in `writers` wrapped in WriterOnly."""
    out = []
    for cb in callbacks or []:
        if type(cb).__name__ in writers and not isinstance(cb, WriterOnly):
            cb = WriterOnly(cb, strategy)
        out.append(cb)
    return out
