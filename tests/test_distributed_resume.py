"""BackupAndRestore and load_weights under data-parallel fit, on 2 real gloo processes (127.0.0.1).

- torchrun --max-restarts=1: a rank SIGKILLs itself at the start of epoch 3; torchrun restarts both
  ranks, which resume from rank 0's backup and end with the weights and History of an uninterrupted
  run (float64, 1e-10), on every rank. Each rank has its own backup folder, as if on its own machine:
  only rank 0's is ever written, so rank 1 can only have resumed from what rank 0 broadcast.
- A backup rank 0 refuses makes every rank raise the same ValueError (none waits for the others,
  and the job can go on); weights loaded on rank 0 only: fit starts every rank from them.

The worker is tests/distributed/resume_worker.py; `train()` run here, in one process, is the reference.
In this process, a recorded "wire" replays rank 0's broadcasts on a rank 1 to test every verdict.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from test_callbacks_fakes import FakeModel
from test_callbacks_io import fake_run
from test_distribution_primitives import WORKERS, free_port, launch, worker_env

from kerasette.callbacks import BackupAndRestore, CallbackList

sys.path.insert(0, str(WORKERS))


@pytest.fixture
def one_process():
    """resume_worker imported here, in float64 and without distribution (the reference)."""
    import resume_worker

    import kerasette as ks

    saved = ks.config.floatx()
    ks.config.set_floatx("float64")
    try:
        yield resume_worker
    finally:
        ks.config.set_floatx(saved)


def assert_same_run(got, model, history, epochs, where):
    assert got["epochs"] == epochs, where
    for key, values in history.history.items():
        np.testing.assert_allclose(got["history"][key], values[-len(epochs):], rtol=1e-10,
                                   atol=1e-12, err_msg=f"{where}: {key}")
    for w_got, w_ref in zip(got["weights"], model.get_weights(), strict=True):
        np.testing.assert_allclose(w_got, w_ref, rtol=1e-10, atol=1e-12, err_msg=f"{where}: weights")


def test_a_killed_torchrun_job_resumes_with_the_weights_of_an_uninterrupted_run(tmp_path,
                                                                                 one_process):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--max-restarts=1",
           "--monitor-interval=0.2", "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           str(WORKERS / "resume_worker.py"), str(tmp_path), "resume"]
    done = subprocess.run(cmd, env=worker_env(RESUME_VICTIM=0), capture_output=True, text=True,
                          timeout=150)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    assert (tmp_path / "killed").exists()  # the first attempt was killed at epoch 3

    model, history = one_process.train()  # uninterrupted, in one process
    resumed = list(range(one_process.KILL_EPOCH, one_process.EPOCHS))
    for rank in range(2):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert got["restarts"] == 1, f"rank {rank} ran in attempt {got['restarts']}"
        assert_same_run(got, model, history, resumed, f"rank {rank}")
        # Only rank 0 wrote backups (one per epoch of the second attempt) ...
        assert got["writes"] == (len(resumed) if rank == 0 else 0), f"rank {rank}"
    # ... rank 1's folder never existed, and rank 0's backup went away after the finished run.
    assert not (tmp_path / "backup_rank1").exists()
    assert not (tmp_path / "backup_rank0").exists()


def test_a_refused_backup_and_load_weights_on_rank_0_only(tmp_path, one_process):
    """A backup rank 0 refuses raises the same ValueError on every rank (and they stay in step);
    then weights loaded on rank 0 only: fit starts every rank from them."""
    one_process.build(seed=99).save_weights(tmp_path / "start.weights.h5")
    results = launch("resume_worker.py", 2, [tmp_path, "checks"], limit=120)
    messages = []
    for rank, (code, out) in enumerate(results):
        assert code == 0, f"rank {rank}:\n{out[-3000:]}"
        messages.append(next(line for line in out.splitlines() if "REFUSED" in line))
    path = os.path.join(tmp_path, "backup_rank0", "backup.pt")
    expected = (f"REFUSED: Invalid backup {path} for BackupAndRestore: expected a number of "
                f"finished epochs in [0, 6] (fit's epochs), received 7")
    assert messages[0].startswith(expected), messages
    assert messages[1].startswith(messages[0]) and messages[1].endswith(
        "(rank 0's verdict; this is rank 1)"), messages

    model = one_process.build(seed=10)
    model.load_weights(tmp_path / "start.weights.h5")
    model, history = one_process.train(model=model)
    for rank in range(2):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert_same_run(got, model, history, list(range(one_process.EPOCHS)), f"rank {rank}")


# ---- in this process: rank 0's broadcasts recorded, then replayed on rank 1 ---------------------

class WireStrategy:
    """Rank 0 records what it broadcasts; rank 1, run afterwards, receives it in the same order."""

    def __init__(self, rank, wire):
        self.rank, self.world_size, self.device, self.wire = rank, 2, torch.device("cpu"), wire
        self.is_writer = rank == 0

    def broadcast_from_writer(self, tensors, what=""):
        if self.is_writer:
            self.wire.append([t.clone() for t in tensors])
        else:
            for t, sent in zip(tensors, self.wire.pop(0), strict=True):
                assert t.shape == sent.shape and t.dtype == sent.dtype, what
                t.copy_(sent)
        return tensors


def begin_on_two_ranks(tmp_path, monkeypatch):
    """on_train_begin of BackupAndRestore on rank 0 (its own folder holds the backup) then on rank
    1 (an empty folder); returns [(model, error)] per rank."""
    wire, out = [], []
    for rank in range(2):
        strategy = WireStrategy(rank, wire)
        monkeypatch.setattr("kerasette.callbacks.backup_and_restore._current_strategy",
                            lambda model, s=strategy: s)
        model = FakeModel(lr=1.0)
        cbs = CallbackList([BackupAndRestore(tmp_path / f"bk{rank}")], model=model, epochs=5,
                           steps=1, verbose=0)
        try:
            cbs.on_train_begin()
            out.append((model, None))
        except Exception as e:
            out.append((model, e))
    assert not wire  # rank 1 met every broadcast of rank 0
    return out


def test_rank_1_restores_what_rank_0_read_without_seeing_the_file(tmp_path, monkeypatch):
    reference = FakeModel()
    with pytest.raises(RuntimeError):
        fake_run(BackupAndRestore(tmp_path / "bk0"), reference, 5, crash_after=2)
    (m0, e0), (m1, e1) = begin_on_two_ranks(tmp_path, monkeypatch)
    assert e0 is None and e1 is None and not (tmp_path / "bk1").exists()
    for m in (m0, m1):
        assert m._resume_epoch == 3 and m.optimizer.iterations == 3
        assert m.optimizer.learning_rate == 0.1
        assert all(np.array_equal(a, b) for a, b in zip(m.weights, reference.weights, strict=True))
        assert torch.equal(m.rng.get_state(), reference.rng.get_state())


def test_every_rank_hears_rank_0s_verdict(tmp_path, monkeypatch):
    (m0, e0), (m1, e1) = begin_on_two_ranks(tmp_path, monkeypatch)  # no backup: nothing happens
    assert e0 is None and e1 is None and m0._resume_epoch is None and m1._resume_epoch is None

    (tmp_path / "bk0").mkdir()
    torch.save({"format": 1, "epoch": 9}, tmp_path / "bk0" / "backup.pt")
    (_, e0), (m1, e1) = begin_on_two_ranks(tmp_path, monkeypatch)  # refused: the same ValueError
    assert type(e0) is ValueError and type(e1) is ValueError
    assert str(e1) == f"{e0} (rank 0's verdict; this is rank 1)"
    assert m1._resume_epoch is None and m1.optimizer.iterations == 0

    (tmp_path / "bk0" / "backup.pt").unlink()
    (tmp_path / "bk0" / "backup.pt").mkdir()  # unreadable: rank 0's OSError, a RuntimeError elsewhere
    (_, e0), (_, e1) = begin_on_two_ranks(tmp_path, monkeypatch)
    assert isinstance(e0, OSError) and type(e1) is RuntimeError
    assert "rank 1 of 2: rank 0 could not read the backup" in str(e1)
    assert type(e0).__name__ in str(e1)
