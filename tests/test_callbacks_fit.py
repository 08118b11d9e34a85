"""Callbacks in real (tiny) fits: hook order, EarlyStopping, checkpoints, CSV, learning-rate
control, exact resume with BackupAndRestore, TerminateOnNaN, Ctrl-C."""

import csv
import math

import numpy as np
import pytest
import torch
from test_callbacks_fakes import Recorder, hook_names

import kerasette as ks
from kerasette import config
from kerasette.callbacks import (
    BackupAndRestore,
    Callback,
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


def data(n=40, seed=0):
    rs = np.random.RandomState(seed)
    x = rs.randn(n, 3)
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rs.randn(n, 1))
    return x.astype(config.floatx()), y.astype(config.floatx())


def net(seed=0, dropout=False, optimizer="sgd", loss="mse", metrics=("mae",)):
    ks.utils.set_random_seed(seed)
    layers = [ks.Input((3,)), ks.layers.Dense(4, activation="tanh")]
    if dropout:
        layers.append(ks.layers.Dropout(0.25, seed=seed + 1))
    layers.append(ks.layers.Dense(1))
    model = ks.Sequential(layers)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


# ----- hook order
def test_exact_hook_order_fit_with_validation():
    x, y = data(40)   # validation_split=0.2: 32 train (2 batches of 16), 8 validation (1 batch)
    rec = Recorder(read_logs={"on_epoch_end", "on_test_end"})
    model = net()
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, verbose=0, callbacks=[rec])
    epoch = ["on_epoch_begin"]
    epoch += ["on_train_batch_begin", "on_backward_end", "on_train_batch_end"] * 2
    epoch += ["on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end"]
    epoch += ["on_epoch_end"]
    assert hook_names(rec) == ["on_train_begin", *epoch, *epoch, "on_train_end"]
    indices = [c[1] for c in rec.calls if c[0] in ("on_epoch_begin", "on_train_batch_end")]
    assert indices == [0, 0, 1, 1, 0, 1]
    epoch_logs = [c[2] for c in rec.calls if c[0] == "on_epoch_end"]
    test_logs = [c[1] for c in rec.calls if c[0] == "on_test_end"]
    assert all(set(logs) == {"loss", "mae", "val_loss", "val_mae"} for logs in epoch_logs)
    for logs, val in zip(epoch_logs, test_logs):   # val_* are the validation pass's results
        assert logs["val_loss"] == val["loss"] and logs["val_mae"] == val["mae"]
    assert rec.params == {"epochs": 2, "steps": 2, "verbose": 0}


def test_exact_hook_order_evaluate_and_predict():
    x, y = data(40)
    model = net()
    rec = Recorder(read_logs={"on_test_end"})
    loss, mae = model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[rec])
    batches = ["on_test_batch_begin", "on_test_batch_end"] * 3
    assert hook_names(rec) == ["on_test_begin", *batches, "on_test_end"]
    assert rec.calls[-1][1] == pytest.approx({"loss": loss, "mae": mae})
    rec = Recorder()
    model.predict(x, batch_size=32, verbose=0, callbacks=[rec])
    batches = ["on_predict_batch_begin", "on_predict_batch_end"] * 2
    assert hook_names(rec) == ["on_predict_begin", *batches, "on_predict_end"]


def test_batch_logs_are_running_epoch_averages(float64):
    x, y = data(40)   # batches of 16, 16, 8
    seen = {"batch": [], "end": [], "epoch": []}
    cb = LambdaCallback(
        on_backward_end=lambda b, logs: seen["batch"].append(logs["loss"]),
        on_train_batch_end=lambda b, logs: seen["end"].append(logs["loss"]),
        on_epoch_end=lambda e, logs: seen["epoch"].append(logs["loss"]))
    net().fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0, callbacks=[cb])
    sizes = np.array([16, 16, 8])
    losses = np.array(seen["batch"])
    running = np.cumsum(losses * sizes) / np.cumsum(sizes)
    assert seen["end"] == pytest.approx(running, rel=1e-12)
    assert seen["epoch"][0] == pytest.approx(running[-1], rel=1e-12)


# ----- EarlyStopping
def blow_up_after(epoch):
    """A schedule with a sane rate, then one that makes SGD diverge: the loss rises again."""
    return LearningRateScheduler(lambda e, lr: 0.05 if e < epoch else 2.0)


def test_early_stopping_restores_best_weights_when_epochs_run_out(float64):
    x, y = data(40)
    model = net()
    snapshots = []
    keep = LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    es = EarlyStopping(monitor="loss", patience=100, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, batch_size=8, verbose=0,
                        callbacks=[blow_up_after(3), keep, es])
    losses = history.history["loss"]
    best = int(np.argmin(losses))
    assert len(losses) == 6 and es.stopped_epoch == 0     # ran out of epochs
    assert best < 5 and losses[-1] > losses[best]          # the last epoch was not the best
    assert es.best_epoch == best
    assert weights_equal(model.get_weights(), snapshots[best])


def test_early_stopping_stops_and_history_is_cut(float64):
    x, y = data(40)
    model = net()
    es = EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, batch_size=8, verbose=0, callbacks=[blow_up_after(3), es])
    n = len(history.history["loss"])
    assert n < 30 and es.stopped_epoch == n - 1 and history.epoch == list(range(n))
    assert es.best == min(history.history["loss"]) and es.wait == 1


# ----- ModelCheckpoint, CSVLogger
def test_model_checkpoint_files_load_back(tmp_path):
    x, y = data(40)
    model = net()
    every = ModelCheckpoint(str(tmp_path / "all" / "m-{epoch:02d}-{val_loss:.4f}.pt"))
    best = ModelCheckpoint(str(tmp_path / "best.weights.pt"), save_best_only=True,
                           save_weights_only=True)
    snapshots = []
    keep = LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[keep, every, best])
    val = history.history["val_loss"]
    names = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert names == [f"m-{e + 1:02d}-{v:.4f}.pt" for e, v in enumerate(val)]
    loaded = ks.models.load_model(tmp_path / "all" / names[1])
    assert weights_equal(loaded.get_weights(), snapshots[1])
    fresh = net(seed=5)
    fresh.load_weights(tmp_path / "best.weights.pt")
    assert weights_equal(fresh.get_weights(), snapshots[int(np.argmin(val))])


def test_csv_logger_matches_history(tmp_path):
    x, y = data(40)
    path = tmp_path / "log.csv"
    history = net().fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for col, key in enumerate(rows[0][1:], start=1):
        assert [float(r[col]) for r in rows[1:]] == history.history[key]


# ----- learning-rate control
def test_scheduler_and_plateau_log_learning_rate(capsys):
    x, y = data(40)
    model = net(optimizer=ks.optimizers.SGD(learning_rate=0.1))
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=2,
                        callbacks=[LearningRateScheduler(lambda e, lr: 0.1 / (e + 1))])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert model.optimizer.learning_rate == pytest.approx(0.1 / 3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[1].endswith("learning_rate: 0.0500")

    model = net(optimizer=ks.optimizers.SGD(learning_rate=0.1))
    never = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[never])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])
    assert model.optimizer.learning_rate == pytest.approx(0.025)


def test_lr_callbacks_refuse_a_schedule_before_any_step():
    x, y = data(40)
    schedule = ks.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = net(optimizer=ks.optimizers.SGD(learning_rate=schedule))
    model.build((None, 3))
    before = model.get_weights()
    for cb in (ReduceLROnPlateau(), LearningRateScheduler(lambda e, lr: lr)):
        with pytest.raises(TypeError, match="schedule"):
            model.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert weights_equal(model.get_weights(), before)


# ----- BackupAndRestore: exact resume
class CrashAt(Callback):
    def __init__(self, epoch, batch, exc=RuntimeError):
        super().__init__()
        self.at, self.exc = (epoch, batch), exc
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise self.exc("interrupted")


DROPOUT = [False, True]


@pytest.mark.parametrize("dropout", DROPOUT)
def test_resume_after_crash_gives_exactly_the_uninterrupted_weights(tmp_path, float64, dropout):
    x, y = data(48)
    kwargs = dict(epochs=6, batch_size=8, validation_split=0.25, verbose=0)

    def build(seed=0):
        return net(seed, dropout=dropout, optimizer=ks.optimizers.Adam(0.01))

    reference = build()
    ref_history = reference.fit(x, y, **kwargs)

    backup = BackupAndRestore(tmp_path / "backup")
    model = build()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, callbacks=[backup, CrashAt(3, 2)], **kwargs)
    assert (tmp_path / "backup" / "backup.pt").exists()
    history = model.fit(x, y, callbacks=[backup], **kwargs)   # same model, mid-epoch weights
    assert history.epoch == [3, 4, 5]
    assert history.history["loss"] == ref_history.history["loss"][3:]
    assert weights_equal(model.get_weights(), reference.get_weights())
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize("dropout", DROPOUT)
def test_resume_in_a_new_process_from_a_fresh_model(tmp_path, float64, dropout):
    x, y = data(48)
    kwargs = dict(epochs=5, batch_size=8, verbose=0)
    reference = net(0, dropout=dropout, optimizer="adam")
    reference.fit(x, y, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        net(0, dropout=dropout, optimizer="adam").fit(
            x, y, callbacks=[BackupAndRestore(tmp_path / "b"), CrashAt(2, 0, KeyboardInterrupt)],
            **kwargs)
    assert (tmp_path / "b" / "backup.pt").exists()   # Ctrl-C keeps the backup
    fresh = net(7, dropout=dropout, optimizer="adam")   # other weights, other generator states
    fresh.fit(x, y, callbacks=[BackupAndRestore(tmp_path / "b")], **kwargs)
    assert weights_equal(fresh.get_weights(), reference.get_weights())


# ----- TerminateOnNaN ----------------------------------------------------------------------------
def test_terminate_on_nan_keeps_the_last_finite_weights(float64, capsys):
    x, y = data(40)
    y[21] = 1e300   # batch 2 (samples 16..23) has an infinite squared error
    model = net()
    after_step = []
    keep = LambdaCallback(on_train_batch_end=lambda b, logs: after_step.append(model.get_weights()))
    nan = TerminateOnNaN()
    history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[keep, nan])
    assert (nan.stopped_epoch, nan.stopped_batch) == (0, 2) and math.isinf(nan.bad_loss)
    assert "epoch 1, batch 2" in capsys.readouterr().out
    assert len(after_step) == 2   # batches 0 and 1 were applied, batch 2 was not
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert weights_equal(weights, after_step[-1])
    assert history.epoch == [0]


def test_terminate_on_nan_with_a_diverging_learning_rate(capsys):
    x, y = data(40)
    model = net(optimizer=ks.optimizers.SGD(learning_rate=1e3))
    nan = TerminateOnNaN()
    history = model.fit(x, y, epochs=50, batch_size=8, verbose=0, callbacks=[nan])
    assert nan.stopped_batch is not None and len(history.epoch) < 50
    assert "TerminateOnNaN" in capsys.readouterr().out
    assert all(torch.isfinite(torch.as_tensor(w)).all() for w in model.get_weights())


# ----- Ctrl-C
def test_keyboard_interrupt_leaves_history_consistent_and_model_usable(tmp_path, capsys):
    x, y = data(40)
    model = net()
    rec = Recorder()
    history = History()
    csv_path = tmp_path / "log.csv"
    bar = ProgbarLogger()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=5, batch_size=8, validation_split=0.2, verbose=1,
                  callbacks=[rec, CrashAt(2, 1, KeyboardInterrupt), history, CSVLogger(csv_path),
                             bar])
    assert hook_names(rec)[-1] == "on_train_end"
    assert model.history is history and history.epoch == [0, 1]
    assert all(len(v) == 2 for v in history.history.values())
    assert bar._bar is None   # the progress bar of the interrupted epoch was closed
    with open(csv_path) as f:
        assert len(f.read().strip().splitlines()) == 3
    # usable afterwards: predict, evaluate, and training again
    assert model.predict(x, verbose=0).shape == (40, 1)
    assert np.isfinite(model.evaluate(x, y, verbose=0)).all()
    again = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert again.epoch == [0, 1] and not model.stop_training
    capsys.readouterr()
