"""Callback plumbing without training: CallbackList dispatch, order, has_* flags, History,
LambdaCallback."""

import pytest
from test_callbacks_fakes import CountingLogs, FakeModel, Recorder, hook_names

from kerasette.callbacks import (
    BackupAndRestore,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

FLAGS = ("has_train_batch_hooks", "has_backward_hooks", "has_test_batch_hooks",
         "has_predict_batch_hooks")


def flags(cbs):
    return tuple(getattr(cbs, f) for f in FLAGS)


def make_list(callbacks, verbose=2, **kw):
    return CallbackList(callbacks, model=FakeModel(), epochs=3, steps=4, verbose=verbose, **kw)


# ----- has_* flags: the fit loop skips batch hooks nobody overrides ------------------------------
def test_no_listener_means_no_batch_hooks(tmp_path):
    quiet = [EarlyStopping(), History(), CSVLogger(tmp_path / "log.csv"),
             ModelCheckpoint(str(tmp_path / "m.pt")), ReduceLROnPlateau(),
             LearningRateScheduler(lambda e, lr: lr), LambdaCallback(on_epoch_end=print),
             BackupAndRestore(tmp_path / "b"), Callback()]
    assert flags(make_list(quiet, add_history=True, add_progbar=True)) == (False,) * 4
    assert flags(make_list(None)) == (False,) * 4


@pytest.mark.parametrize("callback, expected", [
    (Recorder(), (True, True, True, True)),
    (ProgbarLogger(), (False, False, False, False)),           # params verbose=2
    (TerminateOnNaN(), (False, True, False, False)),
    (LambdaCallback(on_train_batch_end=print), (True, False, False, False)),
    (LambdaCallback(on_backward_end=print), (False, True, False, False)),
    (LambdaCallback(on_predict_batch_begin=print), (False, False, False, True)),
])
def test_flags_follow_overrides(callback, expected):
    assert flags(make_list([callback])) == expected


def test_flags_depend_on_configuration(tmp_path):
    assert flags(make_list([ProgbarLogger()], verbose=1)) == (True, False, True, True)
    assert flags(make_list([ProgbarLogger()], verbose=0)) == (False,) * 4
    every_2 = ModelCheckpoint(str(tmp_path / "m.pt"), save_freq=2)
    assert flags(make_list([every_2])) == (True, False, False, False)
    assert flags(make_list([BackupAndRestore(tmp_path / "b", save_freq=3)]))[0] is True


def test_set_params_recomputes_flags():
    cbs = make_list([ProgbarLogger()], verbose=2)
    assert not cbs.has_train_batch_hooks
    cbs.set_params({"epochs": 1, "steps": 2, "verbose": 1})
    assert cbs.has_train_batch_hooks and cbs.callbacks[0].verbose == 1


def test_keras_alias_on_batch_end_is_a_train_batch_hook():
    class Old(Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_batch_end(self, batch, logs=None):
            self.seen.append(batch)

    old = Old()
    cbs = make_list([old])
    assert cbs.has_train_batch_hooks and not cbs.has_test_batch_hooks
    cbs.on_train_batch_end(0, {})
    cbs.on_train_batch_end(1, {})
    assert old.seen == [0, 1]


def test_subclass_of_progbar_overriding_batch_hook_is_still_called():
    class Mine(ProgbarLogger):
        def on_train_batch_end(self, batch, logs=None):
            self.last = batch

    cbs = make_list([Mine()], verbose=2)
    assert cbs.has_train_batch_hooks
    cbs.on_train_batch_end(5, {})
    assert cbs.callbacks[0].last == 5


def test_only_listeners_are_called():
    touched = []

    class Sneaky(Callback):  # does not override on_train_batch_end: must never get it
        def on_epoch_end(self, epoch, logs=None):
            touched.append(epoch)

    sneaky = Sneaky()
    sneaky.on_train_batch_end = lambda batch, logs=None: touched.append(("batch", batch))
    cbs = make_list([Recorder(), Sneaky()])
    cbs.on_train_batch_end(0, {})
    cbs.on_epoch_end(0, {})
    assert touched == [0]
    cbs2 = make_list([sneaky])   # an instance attribute counts as an override
    cbs2.on_train_batch_end(3, {})
    assert touched == [0, ("batch", 3)]


# ----- construction: defaults, order, params, model
def test_history_and_progbar_added_once_and_last():
    rec = Recorder()
    cbs = make_list([rec], add_history=True, add_progbar=True)
    assert [type(c) for c in cbs.callbacks] == [Recorder, History, ProgbarLogger]
    assert cbs.history is cbs.callbacks[1]
    mine_h, mine_p, other = History(), ProgbarLogger(), Recorder()
    cbs = make_list([mine_p, mine_h, other], add_history=True, add_progbar=True)
    assert cbs.callbacks == [other, mine_h, mine_p]   # user's own, moved to the end
    assert cbs.history is mine_h
    assert make_list([rec]).history is None


def test_params_and_model_reach_every_callback():
    model = FakeModel()
    a, b = Recorder(), Recorder()
    cbs = CallbackList([a, b], add_history=True, model=model, epochs=7, steps=None, verbose=0)
    for cb in cbs.callbacks:
        assert cb.model is model
        assert cb.params == {"epochs": 7, "steps": None, "verbose": 0}
    a.params["epochs"] = 1   # each callback gets its own copy
    assert b.params["epochs"] == 7


def test_bad_callbacks_are_rejected():
    with pytest.raises(TypeError, match="callbacks"):
        CallbackList([Recorder(), "early_stopping"])
    with pytest.raises(TypeError, match="callbacks"):
        CallbackList(Recorder)  # the class, not an instance
    single = Recorder()
    assert CallbackList(single).callbacks == [single]


def test_append_inserts_before_history_and_updates_flags():
    cbs = make_list([], add_history=True)
    nan = TerminateOnNaN()
    cbs.append(nan)
    assert cbs.callbacks[0] is nan and cbs.has_backward_hooks and nan.model is cbs.model
    with pytest.raises(TypeError):
        cbs.append(object())


def test_dispatch_order_and_shared_epoch_logs():
    """User callbacks run in their order, History after them: keys they add are recorded."""
    order = []

    class AddsKey(Callback):
        def on_epoch_end(self, epoch, logs=None):
            order.append("adds")
            logs["learning_rate"] = 0.5

    first = LambdaCallback(on_epoch_end=lambda e, logs: order.append("first"))
    history = History()
    cbs = make_list([first, history, AddsKey()])
    cbs.on_train_begin()
    logs = {"loss": 1.0}
    cbs.on_epoch_end(0, logs)
    assert order == ["first", "adds"]
    assert history.history == {"loss": [1.0], "learning_rate": [0.5]}


def test_every_hook_is_dispatched_with_its_arguments():
    rec = Recorder(read_logs={"on_epoch_end", "on_train_batch_end", "on_test_end"})
    cbs = make_list([rec])
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_begin(0)
    cbs.on_backward_end(0, {"loss": 2.0})
    cbs.on_train_batch_end(0, CountingLogs({"loss": 2.0}))
    cbs.on_test_begin()
    cbs.on_test_batch_begin(0)
    cbs.on_test_batch_end(0, {})
    cbs.on_test_end({"loss": 3.0})
    cbs.on_epoch_end(0, {"loss": 2.0, "val_loss": 3.0})
    cbs.on_train_end()
    cbs.on_predict_begin()
    cbs.on_predict_batch_begin(0)
    cbs.on_predict_batch_end(0, {"outputs": None})
    cbs.on_predict_end()
    assert rec.calls == [
        ("on_train_begin", None), ("on_epoch_begin", 0, None), ("on_train_batch_begin", 0, None),
        ("on_backward_end", 0, None), ("on_train_batch_end", 0, {"loss": 2.0}),
        ("on_test_begin", None), ("on_test_batch_begin", 0, None),
        ("on_test_batch_end", 0, None), ("on_test_end", {"loss": 3.0}),
        ("on_epoch_end", 0, {"loss": 2.0, "val_loss": 3.0}), ("on_train_end", None),
        ("on_predict_begin", None), ("on_predict_batch_begin", 0, None),
        ("on_predict_batch_end", 0, None), ("on_predict_end", None),
    ]
    assert hook_names(rec, skip={"on_train_begin"})[0] == "on_epoch_begin"


def test_lists_nest():
    inner = CallbackList([TerminateOnNaN()])
    outer = make_list([inner])
    assert outer.has_backward_hooks and not outer.has_train_batch_hooks


# ----- History
def test_history_records_and_resets_on_train_begin():
    history = History()
    cbs = make_list([history])
    for run in range(2):   # the same instance, two fits
        cbs.on_train_begin()
        cbs.on_epoch_end(0, {"loss": 1.0 + run})
        cbs.on_epoch_end(1, {"loss": 0.5 + run, "val_loss": 0.7})
        cbs.on_train_end()
        assert history.epoch == [0, 1]
        assert history.history == {"loss": [1.0 + run, 0.5 + run], "val_loss": [0.7]}
    assert history.params["epochs"] == 3


# ----- LambdaCallback -----------------------------------------------------------------------------
def test_lambda_callback_calls_given_functions_only():
    seen = []
    cb = LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                        on_epoch_end=lambda epoch, logs: seen.append((epoch, logs["loss"])),
                        on_test_batch_end=lambda batch, logs: seen.append(("test", batch)))
    cbs = make_list([cb])
    assert cbs.has_test_batch_hooks and not cbs.has_train_batch_hooks
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_epoch_end(0, {"loss": 0.25})
    cbs.on_test_batch_end(4, {})
    cbs.on_train_end()
    assert seen == ["begin", (0, 0.25), ("test", 4)]


def test_lambda_callback_rejects_typos_and_non_callables():
    with pytest.raises(TypeError, match="on_epoch_ends"):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="on_epoch_end"):
        LambdaCallback(on_epoch_end="print")
