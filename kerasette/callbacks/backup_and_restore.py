"""`BackupAndRestore`: resume an interrupted `fit` exactly where its last backup left it."""

import io
import os
import sys

import numpy as np
import torch

from ..io_utils import atomic_save, load_plain
from .callback import Callback, overrides

_FILE = "backup.pt"
_FORMAT = 1


class BackupAndRestore(Callback):
    """Back up the training state to `backup_dir` and restore it when `fit` runs again.

    At the end of every epoch (or every `save_freq` batches) one file, `backup_dir/backup.pt`,
    is written atomically with: the weights, the optimizer state (slots, step count, learning
    rate), the number of finished epochs, and the state of every random generator fit uses
    (shuffling, dropout). In `on_train_begin`, if the file exists, all of it is restored and
    `model._resume_epoch` is set, so fit continues with the next epoch. With the default
    `save_freq="epoch"`, a run interrupted (by an exception, Ctrl-C or a crash) and run again
    with the same callback ends with exactly the weights of an uninterrupted run.

    With an integer `save_freq` the backup is also taken mid-epoch; resuming from such a backup
    restarts the interrupted epoch from its first batch with the mid-epoch weights (as Keras
    does), which is not bit-identical to an uninterrupted run.

    The backup file is deleted (and `backup_dir` too, if then empty) when training finishes
    normally (all epochs done, or stopped by a callback) and `delete_checkpoint` is True; it is
    kept after an exception or Ctrl-C, which is the point. The state of other callbacks
    (History, EarlyStopping...) is not part of the backup.

    Under a distribution (`ks.distribution`, e.g. torchrun) the callback runs on every rank and
    finds the job's Strategy itself (`ks.distribution.distribution().connect(model.device)`, the
    one fit already joined; None in one process). Rank 0 alone writes and deletes the file, inside
    `strategy.writer_section`, so the others wait for it and fail too if it fails. To restore,
    rank 0 reads and checks the file and applies it; its verdict (no backup / applied / refused)
    reaches every rank, so a refused backup raises the same ValueError on each; then the backup
    itself (weights with layer state, optimizer slots, step count and learning rate, generator
    states, epochs done) is broadcast from rank 0 and applied on the others. Every rank thus
    resumes identically, even where only rank 0 can see `backup_dir` (several machines). With
    `torchrun --max-restarts=N`, a job whose rank was killed restarts all ranks, which resume from
    the last epoch's backup and end with the weights of an uninterrupted run.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(f"Invalid backup_dir for BackupAndRestore: expected a non-empty "
                             f"path, received {backup_dir!r}")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"Invalid save_freq for BackupAndRestore: expected 'epoch' or a "
                             f"positive number of batches, received {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)
        self.path = os.path.join(self.backup_dir, _FILE)
        self._epochs_done = 0
        self._batches_since_save = 0
        self._strategy = None  # the distribution's Strategy during a distributed fit

    def _wants_hook(self, name: str) -> bool:
        if name == "on_train_batch_end":
            return self.save_freq != "epoch" or overrides(self, name, BackupAndRestore)
        return super()._wants_hook(name)

    # ----- saving -----
    def _state(self) -> dict:
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        return {
            "format": _FORMAT,
            "epoch": self._epochs_done,
            "weights": [torch.from_numpy(np.array(w, copy=True)) for w in model.get_weights()],
            "optimizer": optimizer.get_state() if optimizer is not None else None,
            "rng": model.get_rng_state(),
        }

    def _save(self) -> None:
        if self._strategy is None:
            atomic_save(self._state(), self.path)
            return
        with self._strategy.writer_section("BackupAndRestore's backup") as writing:
            if writing:
                atomic_save(self._state(), self.path)

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_done = epoch + 1
        if self.save_freq == "epoch":
            self._save()

    # ----- restoring -----
    def on_train_begin(self, logs=None):
        self._epochs_done = 0
        self._batches_since_save = 0
        self._strategy = _current_strategy(self.model)
        if self._strategy is not None:
            self._restore_from_writer(self._strategy)
        elif os.path.exists(self.path):
            self._restore(self._read_backup())

    def _restore(self, backup) -> None:
        """Apply a backup read by `_read_backup` to the model: all of it, or (ValueError) nothing."""
        epochs_done, weights, optimizer_state, rng = backup
        # The file is sound; now the parts that must fit the model. set_weights checks every
        # value before copying any; the optimizer's set_state checks before changing anything, and
        # if it refuses, the weights are put back: a refused backup changes nothing.
        previous = self.model.get_weights()
        try:
            self.model.set_weights([w.numpy() for w in weights])
        except (ValueError, TypeError) as e:
            raise self._error(f"the backup does not fit this model ({e})") from e
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer_state is not None and optimizer is not None:
            try:
                optimizer.set_state(optimizer_state)
            except (ValueError, TypeError, RuntimeError) as e:
                self.model.set_weights(previous)
                raise self._error(f"its optimizer state does not fit this model's optimizer, "
                                  f"{type(optimizer).__name__} ({e})") from e
        self.model.set_rng_state(rng)
        self._epochs_done = epochs_done
        self.model._resume_epoch = epochs_done

    def _restore_from_writer(self, strategy) -> None:
        """Rank 0 reads, checks and applies the backup; every rank learns its verdict (two
        broadcasts: a header, then the backup's bytes or rank 0's error message) and the others
        apply the very backup rank 0 applied. No rank ever waits in a collective the others skip."""
        verdict, payload, error = _NONE, b"", None
        if strategy.is_writer:
            try:
                if os.path.exists(self.path):
                    backup = self._read_backup()
                    self._restore(backup)
                    verdict, payload = _APPLIED, _to_bytes(backup)
            except Exception as e:  # the others must hear of it, or they would wait below
                error = e
                verdict = _REFUSED if isinstance(e, ValueError) else _FAILED
                payload = (str(e) if isinstance(e, ValueError) else
                           f"{type(e).__name__}: {e}").encode()
        header = torch.tensor([verdict, len(payload)], dtype=torch.int64, device=strategy.device)
        strategy.broadcast_from_writer([header], "BackupAndRestore's verdict on the backup")
        verdict, size = header.tolist()
        if verdict == _NONE:
            return
        data = (torch.frombuffer(bytearray(payload), dtype=torch.uint8).to(strategy.device)
                if strategy.is_writer else
                torch.empty(size, dtype=torch.uint8, device=strategy.device))
        strategy.broadcast_from_writer([data], "the backup restored on rank 0")
        if error is not None:
            raise error
        if verdict == _REFUSED:  # the same ValueError as rank 0's
            raise ValueError(f"{_text(data)} (rank 0's verdict; this is rank {strategy.rank})")
        if verdict == _FAILED:
            raise RuntimeError(f"kerasette.distribution: rank {strategy.rank} of "
                               f"{strategy.world_size}: rank 0 could not read the backup "
                               f"{self.path} for BackupAndRestore ({_text(data)})")
        if not strategy.is_writer:
            self._restore(_from_bytes(data))

    def _error(self, what: str) -> ValueError:
        return ValueError(f"Invalid backup {self.path} for BackupAndRestore: {what}; use a new "
                          f"backup_dir or delete the old backup to start over")

    def _read_backup(self):
        """(epochs done, weight tensors, optimizer state, rng states) from the backup; ValueError
        naming the file if its structure is wrong. Nothing changes here."""
        state = load_plain(self.path, "BackupAndRestore")
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise self._error("not a backup this version of kerasette can read")
        epoch = state.get("epoch")
        epochs = self.params.get("epochs")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or (
                epochs is not None and epoch > epochs):
            raise self._error(f"expected a number of finished epochs in [0, {epochs}] (fit's "
                              f"epochs), received {epoch!r}")
        weights = state.get("weights")
        if not isinstance(weights, list) or not all(
                isinstance(w, torch.Tensor) and w.is_floating_point() for w in weights):
            raise self._error("expected a list of float weight tensors")
        rng = state.get("rng")
        if not isinstance(rng, dict) or not all(
                isinstance(k, str) and _valid_generator_state(v) for k, v in rng.items()):
            raise self._error("expected random generator states (uint8 tensors by name)")
        return epoch, weights, state.get("optimizer"), rng

    def on_train_end(self, logs=None):
        # Called by fit after a normal end, and also inside its `except KeyboardInterrupt`
        # block: an exception being handled means the run did not finish, keep the backup.
        interrupted = sys.exc_info()[1] is not None
        finished = self.model.stop_training or self._epochs_done >= self.params.get("epochs", 0)
        if not (self.delete_checkpoint and finished and not interrupted):
            return  # (under a distribution, the same decision on every rank: no one waits)
        if self._strategy is None:
            self._delete()
            return
        with self._strategy.writer_section("BackupAndRestore's deletion") as writing:
            if writing:
                self._delete()

    def _delete(self) -> None:
        if os.path.exists(self.path):
            os.remove(self.path)
            if not os.listdir(self.backup_dir):  # remove the folder only if nothing else is in it
                os.rmdir(self.backup_dir)


def _valid_generator_state(state) -> bool:
    """Would `torch.Generator.set_state(state)` accept it? (Tried on a scratch generator.)"""
    if not isinstance(state, torch.Tensor) or state.dtype != torch.uint8:
        return False
    try:
        torch.Generator().set_state(state)
    except (RuntimeError, ValueError, TypeError):
        return False
    return True


# Rank 0's verdict on the backup, broadcast to every rank before anything else moves.
_NONE, _APPLIED, _REFUSED, _FAILED = 0, 1, 2, 3


def _current_strategy(model):
    """The Strategy fit is running under (it connected first, so this reuses it), or None."""
    from ..distribution import distribution  # here: kerasette.distribution imports callbacks

    d = distribution()
    if d is None or d.world_size <= 1:
        return None
    return d.connect(model.device)


def _to_bytes(backup) -> bytes:
    epoch, weights, optimizer_state, rng = backup
    buffer = io.BytesIO()
    torch.save({"epoch": epoch, "weights": weights, "optimizer": optimizer_state, "rng": rng},
               buffer)
    return buffer.getvalue()


def _from_bytes(data: torch.Tensor):
    state = torch.load(io.BytesIO(data.cpu().numpy().tobytes()), map_location="cpu",
                       weights_only=True)
    return state["epoch"], state["weights"], state["optimizer"], state["rng"]


def _text(data: torch.Tensor) -> str:
    return data.cpu().numpy().tobytes().decode(errors="replace")
