"""io_utils, CSVLogger, BackupAndRestore, TerminateOnNaN and ProgbarLogger without training."""

import csv
import os
import pickle
import re
import sys

import numpy as np
import pytest
import torch
from test_callbacks_fakes import CountingLogs, FakeModel

from kerasette.callbacks import (
    BackupAndRestore,
    CallbackList,
    CSVLogger,
    ProgbarLogger,
    TerminateOnNaN,
)
from kerasette.callbacks.progbar_logger import format_value, resolve_verbose
from kerasette.io_utils import atomic_save, safe_load


# ----- io_utils
def test_atomic_save_round_trip_leaves_no_temp_files(tmp_path):
    obj = {"w": [torch.arange(6.0).reshape(2, 3)], "epoch": 3, "name": "x", "none": None}
    path = tmp_path / "sub" / "f.pt"
    atomic_save(obj, path)
    atomic_save(obj, path)  # overwrite
    back = safe_load(path)
    assert back["epoch"] == 3 and back["name"] == "x" and back["none"] is None
    assert torch.equal(back["w"][0], obj["w"][0])
    assert os.listdir(tmp_path / "sub") == ["f.pt"]


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.pt"
    atomic_save({"v": torch.ones(2)}, path)
    with pytest.raises(Exception):  # noqa: B017 - torch.save cannot pickle a lambda
        atomic_save({"v": lambda: 1}, path)
    assert torch.equal(safe_load(path)["v"], torch.ones(2))
    assert os.listdir(tmp_path) == ["f.pt"]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_safe_load_never_runs_code_from_the_file(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"x": _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        safe_load(path)


# ----- CSVLogger
def run_csv(logger, epochs_logs, model=None):
    cbs = CallbackList([logger], model=model or FakeModel(), epochs=len(epochs_logs), steps=1,
                       verbose=0)
    cbs.on_train_begin()
    for epoch, logs in enumerate(epochs_logs):
        cbs.on_epoch_end(epoch, dict(logs))
    cbs.on_train_end()


def read_rows(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_rows_sorted_keys_and_na(tmp_path):
    path = tmp_path / "log.csv"
    run_csv(CSVLogger(path), [{"loss": 0.5, "val_loss": 0.75, "accuracy": 0.25},
                              {"loss": 0.25, "accuracy": 0.5}])
    assert read_rows(path) == [["epoch", "accuracy", "loss", "val_loss"],
                               ["0", "0.25", "0.5", "0.75"], ["1", "0.5", "0.25", "NA"]]


def test_csv_separator_and_val_metrics_from_model(tmp_path):
    path = tmp_path / "log.tsv"
    model = FakeModel()
    model.metrics_names = ["loss", "val_loss"]
    run_csv(CSVLogger(path, separator="\t"), [{"loss": 1.0}], model=model)   # not validated
    assert read_rows(path, "\t") == [["epoch", "loss", "val_loss"], ["0", "1.0", "NA"]]


def test_csv_flushes_every_epoch(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    cbs = CallbackList([logger], model=FakeModel(), epochs=3, steps=1, verbose=0)
    cbs.on_train_begin()
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.on_epoch_end(1, {"loss": 0.5})
    assert read_rows(path) == [["epoch", "loss"], ["0", "1.0"], ["1", "0.5"]]   # still open
    cbs.on_train_end()


def test_csv_append_keeps_header_and_columns(tmp_path):
    path = tmp_path / "log.csv"
    run_csv(CSVLogger(path), [{"loss": 1.0, "val_loss": 2.0}])
    run_csv(CSVLogger(path, append=True), [{"val_loss": 1.5, "loss": 0.5, "new_key": 3.0}])
    assert read_rows(path) == [["epoch", "loss", "val_loss"], ["0", "1.0", "2.0"],
                               ["0", "0.5", "1.5"]]
    logger = CSVLogger(path)   # append=False: the same instance starts the file over each fit
    run_csv(logger, [{"loss": 9.0}])
    run_csv(logger, [{"loss": 8.0}])
    assert read_rows(path) == [["epoch", "loss"], ["0", "8.0"]]


def test_csv_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="separator"):
        CSVLogger(tmp_path / "x.csv", separator=", ")
    with pytest.raises(TypeError, match="filename"):
        CSVLogger(None)


# ----- BackupAndRestore
def fake_run(callback, model, epochs, crash_after=None):
    """Epochs of a fake fit; each epoch sets weights to epoch + 1, counts an optimizer step and
    draws from the model's generator. Raises RuntimeError after epoch `crash_after`."""
    cbs = CallbackList([callback], model=model, epochs=epochs, steps=1, verbose=0)
    model._resume_epoch = None
    cbs.on_train_begin()
    start = model._resume_epoch or 0
    draws = []
    for epoch in range(start, epochs):
        cbs.on_epoch_begin(epoch)
        draws.append(torch.randint(0, 10**9, (1,), generator=model.rng).item())
        model.bump(epoch + 1)
        model.optimizer.iterations += 1
        cbs.on_epoch_end(epoch, {"loss": 1.0})
        if crash_after is not None and epoch == crash_after:
            raise RuntimeError("crash")
    cbs.on_train_end()
    return start, draws


def test_backup_restores_everything_and_resumes(tmp_path):
    full_model = FakeModel()
    _, full_draws = fake_run(BackupAndRestore(tmp_path / "other"), full_model, 5)

    backup_dir = tmp_path / "bk"
    model = FakeModel()
    with pytest.raises(RuntimeError):
        fake_run(BackupAndRestore(backup_dir), model, 5, crash_after=2)
    assert os.path.exists(backup_dir / "backup.pt")
    fresh = FakeModel(lr=1.0)   # a new process: fresh model, fresh callback
    start, draws = fake_run(BackupAndRestore(backup_dir), fresh, 5)
    assert start == 3 and draws == full_draws[3:]
    assert fresh.optimizer.iterations == 5 and fresh.optimizer.learning_rate == 0.1
    assert all(np.array_equal(a, b) for a, b in zip(fresh.weights, full_model.weights))
    assert not os.path.exists(backup_dir)   # deleted after the successful end


def test_backup_kept_after_keyboard_interrupt_and_when_asked(tmp_path):
    backup = BackupAndRestore(tmp_path / "bk")
    model = FakeModel()
    cbs = CallbackList([backup], model=model, epochs=4, steps=1, verbose=0)
    cbs.on_train_begin()
    cbs.on_epoch_end(0, {})
    try:   # what fit does on Ctrl-C
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        cbs.on_train_end()
    assert os.path.exists(tmp_path / "bk" / "backup.pt")
    cbs.on_train_end()   # a normal end, but only 1 of 4 epochs done and no stop: keep it
    assert os.path.exists(tmp_path / "bk" / "backup.pt")
    model.stop_training = True   # stopped by a callback: a finished run
    cbs.on_train_end()
    assert not os.path.exists(tmp_path / "bk")

    keep = BackupAndRestore(tmp_path / "keep", delete_checkpoint=False)
    fake_run(keep, FakeModel(), 2)
    assert os.path.exists(tmp_path / "keep" / "backup.pt")


def test_backup_leaves_other_files_alone(tmp_path):
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "notes.txt").write_text("mine")
    fake_run(BackupAndRestore(tmp_path / "bk"), FakeModel(), 2)
    assert os.listdir(tmp_path / "bk") == ["notes.txt"]


def test_backup_for_another_model_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError):
        fake_run(BackupAndRestore(tmp_path / "bk"), FakeModel(), 3, crash_after=0)
    other = FakeModel()
    other.weights = [np.zeros(4)]
    with pytest.raises(ValueError, match="does not fit this model"):
        fake_run(BackupAndRestore(tmp_path / "bk"), other, 3)


def test_backup_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="backup_dir"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore(tmp_path, save_freq="batch")


# ----- TerminateOnNaN
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_terminate_on_nan_stops_naming_epoch_and_batch(bad, capsys):
    model = FakeModel()
    cb = TerminateOnNaN()
    cbs = CallbackList([cb], model=model, epochs=5, steps=10, verbose=0)
    cbs.on_train_begin()
    cbs.on_epoch_begin(2)
    cbs.on_backward_end(0, CountingLogs({"loss": 1.0}))
    assert not model.stop_training
    cbs.on_backward_end(7, CountingLogs({"loss": bad}))
    assert model.stop_training
    assert (cb.stopped_epoch, cb.stopped_batch) == (2, 7)
    assert "epoch 3, batch 7" in capsys.readouterr().out
    cbs.on_train_begin()   # reset for the next fit
    assert cb.stopped_epoch is None


def test_terminate_on_nan_can_raise():
    cbs = CallbackList([TerminateOnNaN(raise_error=True)], model=FakeModel(), epochs=1, steps=1,
                       verbose=0)
    with pytest.raises(RuntimeError, match="nan"):
        cbs.on_backward_end(0, {"loss": float("nan")})


# ----- ProgbarLogger
class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def progbar(verbose, epochs=2, steps=4):
    bar = ProgbarLogger(refresh_interval=0.1)
    clock = bar._clock = FakeClock()
    cbs = CallbackList([bar], model=FakeModel(), epochs=epochs, steps=steps, verbose=verbose)
    return cbs, clock


def test_verbose_2_prints_one_line_per_epoch(capsys):
    cbs, clock = progbar(2, epochs=50)
    assert not cbs.has_train_batch_hooks
    cbs.on_train_begin()
    cbs.on_epoch_begin(2)
    clock.t += 0.125
    cbs.on_test_begin()   # validation inside fit is silent
    cbs.on_test_end({"loss": 9.0})
    cbs.on_epoch_end(2, {"loss": 0.12341, "accuracy": 0.95, "val_loss": 0.2, "lr": 1e-4})
    cbs.on_train_end()
    assert capsys.readouterr().out == (
        "Epoch 3/50 - 0.12s - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2000 "
        "- lr: 1.0000e-04\n")


def test_verbose_2_evaluate_and_predict_lines(capsys):
    cbs, clock = progbar(2, epochs=1, steps=3)
    cbs.on_test_begin()
    clock.t += 0.5
    cbs.on_test_end({"loss": 0.5})
    cbs.on_predict_begin()
    cbs.on_predict_end()
    assert capsys.readouterr().out == "Evaluate - 0.50s - loss: 0.5000\nPredict - 0.00s - 3 steps\n"


def test_verbose_1_bar_reads_logs_only_when_redrawing(capsys):
    cbs, clock = progbar(1, epochs=1, steps=100)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    logs = CountingLogs({"loss": 0.5, "accuracy": 0.75})
    for batch in range(100):
        clock.t += 0.01   # 100 batches in 1 s: at most 10 redraws
        cbs.on_train_batch_end(batch, logs)
    assert 9 * 2 <= logs.reads <= 10 * 2
    cbs.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.25})
    cbs.on_train_end()
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "100/100" in out
    assert out.rstrip().splitlines()[-1].endswith("loss: 0.5000 - accuracy: 0.7500 - val_loss: "
                                                  "0.2500]")


def test_verbose_1_evaluate_and_predict_bars(capsys):
    cbs, clock = progbar(1, epochs=1, steps=3)
    cbs.on_test_begin()
    for batch in range(3):
        clock.t += 1
        cbs.on_test_batch_end(batch, {"loss": 1.0})
    cbs.on_test_end({"loss": 0.75})
    cbs.on_predict_begin()
    for batch in range(3):
        cbs.on_predict_batch_end(batch, {"outputs": None})
    cbs.on_predict_end()
    out = capsys.readouterr().out
    assert re.search(r"Evaluate: 100%.*3/3.*loss: 0\.7500", out)
    assert re.search(r"Predict: 100%.*3/3", out)


def test_interrupted_epoch_bar_is_closed(capsys):
    cbs, _ = progbar(1, epochs=3, steps=None)
    bar = cbs.callbacks[0]
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 1.0})
    assert bar._bar is not None
    cbs.on_train_end()
    assert bar._bar is None and not bar._in_fit


def test_verbose_resolution(monkeypatch):
    assert resolve_verbose(0) == 0 and resolve_verbose(1) == 1 and resolve_verbose(3) == 2
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert resolve_verbose("auto") == 2
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert resolve_verbose("auto") == 1
    with pytest.raises(ValueError, match="verbose"):
        resolve_verbose("loud")
    with pytest.raises(ValueError, match="refresh_interval"):
        ProgbarLogger(refresh_interval=-1)


@pytest.mark.parametrize("value, text", [(0.12345, "0.1235"), (0.0, "0.0000"), (1e-5, "1.0000e-05"),
                                         (12.0, "12.0000"), (float("nan"), "nan"), ("x", "x")])
def test_number_format(value, text):
    assert format_value(value) == text
