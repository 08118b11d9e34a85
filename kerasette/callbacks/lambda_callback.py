"""`LambdaCallback`: a callback made of plain functions."""

from .callback import HOOKS, Callback


class LambdaCallback(Callback):
    """Build a callback from functions, one per hook, with the hook's positional arguments:

        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]),
                       on_train_end=lambda logs: print("done"))

    Any hook name is accepted (`on_backward_end`, `on_test_batch_end`, ...). Only the given hooks
    are called, so a LambdaCallback without batch functions costs nothing per batch.
    Unlike Keras, an unknown name (a typo such as `on_epoch_ends`) or a non-callable is an error.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in kwargs.items():
            if name not in HOOKS:
                raise TypeError(f"Invalid argument for LambdaCallback: {name!r} is not a hook; "
                                f"expected one of {', '.join(HOOKS)}")
            given[name] = fn
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"Invalid {name} for LambdaCallback: expected a function, "
                                f"received {type(fn).__name__}")
            setattr(self, name, fn)  # an instance attribute: `_wants_hook` sees it
