"""EarlyStopping, ReduceLROnPlateau, LearningRateScheduler and ModelCheckpoint driven by synthetic
epoch logs and a fake model (no training)."""

import math
import os
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_callbacks_fakes import FakeModel

from kerasette.callbacks import (
    CallbackList,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from kerasette.callbacks._monitor import wants_max


def drive(callback, values, key="val_loss", model=None, bump=True, epochs=None):
    """Run `callback` over epochs with logs {key: value}; the fake model's weights become the epoch
    number each epoch. Stops like fit does. Returns (model, epochs run)."""
    model = model or FakeModel()
    cbs = CallbackList([callback], model=model, epochs=epochs or len(values), steps=1, verbose=0)
    model.stop_training = False
    cbs.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        cbs.on_epoch_begin(epoch)
        if bump:
            model.bump(epoch)
        logs = {"loss": 1.0} if value is None else {"loss": 1.0, key: value}
        cbs.on_epoch_end(epoch, logs)
        ran += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return model, ran


# ----- EarlyStopping
def test_patience_counts_epochs_without_improvement():
    es = EarlyStopping(patience=2)
    _, ran = drive(es, [1.0, 0.9, 0.95, 0.96, 0.97, 0.1])
    assert ran == 4 and es.stopped_epoch == 3 and es.best == 0.9 and es.best_epoch == 1


def test_patience_zero_stops_at_first_non_improvement_but_never_at_epoch_zero():
    es = EarlyStopping(patience=0)
    _, ran = drive(es, [1.0, 0.5, 0.6, 0.1])
    assert ran == 3 and es.stopped_epoch == 2
    es = EarlyStopping(patience=0, monitor="loss", start_from_epoch=0)
    _, ran = drive(es, [float("nan"), 1.0, 2.0], key="other")   # monitors "loss" = 1.0 always
    assert ran == 2   # epoch 0 improved; epoch 1 did not and epoch > 0


def test_min_delta_makes_small_gains_count_as_none():
    es = EarlyStopping(patience=1, min_delta=0.1)
    _, ran = drive(es, [1.0, 0.95, 0.5])
    assert ran == 2 and es.best == 1.0
    es = EarlyStopping(patience=1, min_delta=-0.1)   # |min_delta| is used
    _, ran = drive(es, [1.0, 0.85, 0.5])
    assert ran == 3 and es.best == 0.5


@pytest.mark.parametrize("monitor, mode, maximize", [
    ("val_loss", "auto", False), ("loss", "auto", False), ("val_accuracy", "auto", True),
    ("acc", "auto", True), ("val_auc", "auto", True), ("val_precision", "auto", True),
    ("recall", "auto", True), ("val_mae", "auto", False), ("mse", "auto", False),
    ("val_binary_accuracy", "auto", True), ("val_loss", "max", True), ("accuracy", "min", False),
])
def test_direction(monitor, mode, maximize):
    assert wants_max(monitor, mode) is maximize


def test_max_mode_tracks_accuracy():
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    _, ran = drive(es, [0.5, 0.6, 0.7, 0.65, 0.9], key="val_accuracy")
    assert ran == 4 and es.best == 0.7


def test_start_from_epoch_ignores_warm_up():
    es = EarlyStopping(patience=0, start_from_epoch=3, restore_best_weights=True)
    model, ran = drive(es, [0.1, 0.2, 0.3, 0.9, 0.8, 0.85, 0.0])
    assert ran == 6 and es.best == 0.8 and es.best_epoch == 4
    assert np.all(model.weights[0] == 4)   # not epoch 0, which was better but in the warm-up


def test_baseline_must_be_beaten_to_reset_wait():
    es = EarlyStopping(patience=2, baseline=0.5)
    _, ran = drive(es, [0.9, 0.8, 0.7, 0.6])   # improving, never reaching the baseline
    assert ran == 2 and es.stopped_epoch == 1   # Keras would never stop this run
    es = EarlyStopping(patience=2, baseline=0.5)
    _, ran = drive(es, [0.9, 0.4, 0.45, 0.46, 0.47])
    assert ran == 4 and es.best == 0.4


def test_best_weights_restored_when_epochs_run_out():
    es = EarlyStopping(patience=10, restore_best_weights=True)
    model, ran = drive(es, [1.0, 0.5, 0.7, 0.8])
    assert ran == 4 and es.stopped_epoch == 0     # no early stop...
    assert all(np.all(w == 1) for w in model.weights)   # ...and still the best epoch's weights


def test_best_weights_restored_after_early_stop_and_not_without_the_flag():
    es = EarlyStopping(patience=1, restore_best_weights=True)
    model, ran = drive(es, [1.0, 0.2, 0.7, 0.8])
    assert ran == 3 and np.all(model.weights[0] == 1)
    model, _ = drive(EarlyStopping(patience=1), [1.0, 0.2, 0.7, 0.8])
    assert np.all(model.weights[0] == 2)


def test_nan_is_never_best():
    es = EarlyStopping(patience=1, restore_best_weights=True)
    model, ran = drive(es, [float("nan"), 0.5, float("nan"), 0.7])
    assert ran == 3 and es.best == 0.5 and np.all(model.weights[0] == 1)


def test_state_resets_between_fits():
    es = EarlyStopping(patience=1, restore_best_weights=True)
    drive(es, [0.1, 0.2, 0.3])
    model, ran = drive(es, [5.0, 4.0, 4.5, 4.6])   # worse than the first run's best: irrelevant
    assert ran == 3 and es.best == 4.0 and es.stopped_epoch == 2
    assert np.all(model.weights[0] == 1)


def test_missing_key_warns_once_listing_keys():
    es = EarlyStopping(monitor="val_acc", patience=0)
    with pytest.warns(RuntimeWarning, match="val_acc.*loss, val_loss") as record:
        drive(es, [0.5, 0.4, 0.3])   # logs carry val_loss, not val_acc
    assert len(record) == 1


def test_unvalidated_epochs_are_skipped_silently():
    es = EarlyStopping(patience=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, ran = drive(es, [None, 1.0, None, 1.1, None, 1.2])   # validation_freq=2
    assert ran == 4 and es.stopped_epoch == 3   # epochs 0 and 2 did not count
    with pytest.warns(RuntimeWarning, match="no epoch was validated") as record:
        drive(EarlyStopping(), [None, None])
    assert len(record) == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "bigger"}, "mode"), ({"patience": -1}, "patience"), ({"patience": 1.5}, "patience"),
    ({"min_delta": "0.1"}, "min_delta"), ({"start_from_epoch": -2}, "start_from_epoch"),
    ({"baseline": float("nan")}, "baseline"),
])
def test_early_stopping_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)
    with pytest.raises(TypeError, match="monitor"):
        EarlyStopping(monitor=3)


def reference_stop_epoch(values, patience, min_delta):
    """Keras's rule restated: stop at the first epoch > 0 that is `patience` or more epochs after
    the last improvement (an improvement beats the best by more than min_delta)."""
    best, last_improvement = math.inf, None
    for epoch, v in enumerate(values):
        if v + min_delta < best:
            best, last_improvement = v, epoch
        elif epoch > 0 and epoch - last_improvement >= patience:
            return epoch
    return None


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=12),
       patience=st.integers(0, 4), min_delta=st.sampled_from([0.0, 0.5]))
def test_early_stopping_matches_the_rule(values, patience, min_delta):
    es = EarlyStopping(patience=patience, min_delta=min_delta)
    _, ran = drive(es, values)
    expected = reference_stop_epoch(values, patience, min_delta)
    assert ran == (len(values) if expected is None else expected + 1)


# ----- ReduceLROnPlateau
def lr_trajectory(callback, values, lr=0.1):
    model = FakeModel(lr)
    cbs = CallbackList([callback], model=model, epochs=len(values), steps=1, verbose=0)
    cbs.on_train_begin()
    logged, after = [], []
    for epoch, v in enumerate(values):
        logs = {"val_loss": v}
        cbs.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
        after.append(model.optimizer.learning_rate)
    cbs.on_train_end()
    return logged, after


def test_reduce_lr_after_patience():
    logged, after = lr_trajectory(ReduceLROnPlateau(factor=0.5, patience=2), [1.0] * 6)
    assert after == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert logged == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])   # the rate used


def test_reduce_lr_cooldown_min_lr_and_min_delta():
    _, after = lr_trajectory(ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2), [1.0] * 7)
    # Keras's counting: reduce at epoch 1 (counter = 2); epoch 2 counts it down to 1 and waits;
    # epoch 3 counts it down to 0, is out of cooldown, waits 1 >= patience -> reduce again.
    assert after == pytest.approx([0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125])
    _, after = lr_trajectory(ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.005), [1.0] * 4)
    assert after == pytest.approx([0.1, 0.01, 0.005, 0.005])
    # improvements smaller than min_delta do not count
    _, after = lr_trajectory(ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.1),
                             [1.0, 0.95, 0.5, 0.45])
    assert after == pytest.approx([0.1, 0.05, 0.05, 0.025])


def test_reduce_lr_resets_between_fits():
    cb = ReduceLROnPlateau(factor=0.5, patience=2)
    lr_trajectory(cb, [0.1, 1.0])   # best 0.1, wait 1
    _, after = lr_trajectory(cb, [5.0, 5.0, 5.0])
    assert after == pytest.approx([0.1, 0.1, 0.05])


def test_reduce_lr_errors():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="cooldown"):
        ReduceLROnPlateau(cooldown=-1)
    model = FakeModel()
    model.optimizer.schedule = True
    for cb in (ReduceLROnPlateau(patience=0), LearningRateScheduler(lambda e, lr: lr)):
        cbs = CallbackList([cb], model=model, epochs=2, steps=1, verbose=0)
        with pytest.raises(TypeError, match="schedule"):
            cbs.on_train_begin()   # at once, not when the first reduction is due


# ----- LearningRateScheduler
def run_scheduler(schedule, epochs=3, lr=0.1):
    model = FakeModel(lr)
    cbs = CallbackList([LearningRateScheduler(schedule)], model=model, epochs=epochs, steps=1,
                       verbose=0)
    used = []
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        logs = {}
        cbs.on_epoch_end(epoch, logs)
        used.append(logs["learning_rate"])
    return used


def test_scheduler_sets_rate_from_epoch_and_current_rate():
    assert run_scheduler(lambda epoch, lr: lr * 0.5) == pytest.approx([0.05, 0.025, 0.0125])
    assert run_scheduler(lambda epoch: 0.1 * (epoch + 1)) == pytest.approx([0.1, 0.2, 0.3])
    assert run_scheduler(lambda e, lr: torch.tensor(0.25, dtype=torch.float64)) == [0.25] * 3
    assert run_scheduler(lambda e, lr: np.float32(0.5)) == [0.5] * 3


@pytest.mark.parametrize("bad", ["0.1", float("nan"), -0.1, None, [0.1]])
def test_scheduler_rejects_bad_rates(bad):
    with pytest.raises(ValueError, match="learning rate"):
        run_scheduler(lambda e, lr: bad)


def test_scheduler_needs_a_function():
    with pytest.raises(TypeError, match="schedule"):
        LearningRateScheduler(0.1)


# ----- ModelCheckpoint
def test_checkpoint_every_epoch_with_formatted_names(tmp_path):
    pattern = str(tmp_path / "ckpt" / "m-{epoch:02d}-{val_loss:.2f}.pt")
    model, _ = drive(ModelCheckpoint(pattern), [0.5, 0.25, 0.75])
    names = sorted(os.listdir(tmp_path / "ckpt"))
    assert names == ["m-01-0.50.pt", "m-02-0.25.pt", "m-03-0.75.pt"]
    assert [kind for kind, _ in model.saves] == ["save"] * 3
    restored = FakeModel()
    restored.load_weights(tmp_path / "ckpt" / "m-02-0.25.pt")
    assert np.all(restored.weights[0] == 1)


def test_checkpoint_save_best_only_and_weights_only(tmp_path):
    path = str(tmp_path / "best.weights.pt")
    model, _ = drive(ModelCheckpoint(path, save_best_only=True, save_weights_only=True),
                     [0.5, 0.7, 0.3, 0.4])
    assert len(model.saves) == 2 and model.saves[0][0] == "save_weights"
    restored = FakeModel()
    restored.load_weights(path)
    assert np.all(restored.weights[0] == 2)


def test_checkpoint_threshold_and_max_mode(tmp_path):
    path = str(tmp_path / "a-{epoch}.pt")
    cb = ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                         initial_value_threshold=0.6)
    model, _ = drive(cb, [0.5, 0.7, 0.65, 0.8], key="val_accuracy")
    assert sorted(os.listdir(tmp_path)) == ["a-2.pt", "a-4.pt"]
    model, _ = drive(cb, [0.61], key="val_accuracy")   # threshold again, not 0.8
    assert "a-1.pt" in os.listdir(tmp_path)


def test_checkpoint_best_only_skips_missing_monitor(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m.pt"), monitor="val_auc", save_best_only=True)
    with pytest.warns(RuntimeWarning, match="val_auc"):
        model, _ = drive(cb, [0.5, 0.4])
    assert model.saves == []


def test_checkpoint_every_n_batches(tmp_path):
    model = FakeModel()
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}-{loss:.1f}.pt"), save_freq=2)
    cbs = CallbackList([cb], model=model, epochs=2, steps=3, verbose=0)
    cbs.on_train_begin()
    for epoch in range(2):
        cbs.on_epoch_begin(epoch)
        for batch in range(3):
            cbs.on_train_batch_end(batch, {"loss": 0.5 * (batch + 1)})
        cbs.on_epoch_end(epoch, {"loss": 1.0})
    assert sorted(os.listdir(tmp_path)) == ["e1-b2-1.0.pt", "e2-b1-0.5.pt", "e2-b3-1.5.pt"]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint(str(tmp_path / "m.pt"), save_freq="batch")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint(str(tmp_path / "m.pt"), save_freq=0)
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint(str(tmp_path / "m.pt"), mode="best")
    with pytest.raises(TypeError, match="filepath"):
        ModelCheckpoint(None)
    with pytest.raises(KeyError, match="val_acc"):
        drive(ModelCheckpoint(str(tmp_path / "{val_acc}.pt")), [0.5])
