"""A worker for tests/test_distributed_resume.py: BackupAndRestore and load_weights on N ranks.

    python resume_worker.py OUT_DIR MODE        (under torchrun's variables: one rank of N)

MODE "resume": fit with BackupAndRestore(OUT_DIR/backup_rank<r>) (a folder per rank, as if each
rank were on its own machine: only rank 0's may ever appear, and the others must restore from what
rank 0 broadcasts). Unless OUT_DIR/killed exists, rank VICTIM (env RESUME_VICTIM, default 1) creates
it and kills itself with SIGKILL at the start of epoch 3, so that torchrun (--max-restarts) restarts
every rank. Writes OUT_DIR/rank<r>.json at the end: the final weights, the History, torchrun's restart
count and the number of backup files this rank wrote.

MODE "checks": (1) rank 0's backup folder holds a backup of more epochs than fit's: every rank
must raise the same ValueError (printed as "REFUSED: <message>") and stay in step with the others;
(2) rank 0 loads OUT_DIR/start.weights.h5 (written by the test), the others keep their own initial
weights (as if they could not see it): fit must start every rank from rank 0's. Writes
OUT_DIR/rank<r>.json after (2).

`train()` is also run by the test in one process, without distribution, as the reference.
"""

import json
import os
import signal
import sys

import numpy as np
import torch

import kerasette as ks
from kerasette.callbacks import backup_and_restore

EPOCHS = 6
KILL_EPOCH = 3


def data(n=45, seed=0):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, 4))
    y = (x[:, 0] - 0.5 * x[:, 2] > 0).astype("float64")[:, None]
    return x, y


def build(seed=3):
    ks.utils.set_random_seed(seed)
    model = ks.Sequential([ks.Input((4,)), ks.layers.Dense(8, activation="relu"),
                           ks.layers.Dropout(0.25, seed=7), ks.layers.Dense(1, activation="sigmoid")])
    model.compile(ks.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    return model


class KillAt(ks.callbacks.Callback):
    """SIGKILL this process at the start of `epoch`, once per job (the marker file remembers)."""

    def __init__(self, epoch, marker):
        super().__init__()
        self.epoch, self.marker = epoch, marker

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)


def train(callbacks=(), model=None):
    """6 epochs of a float64 model with Dropout and Adam, shuffled, batch 8 of 45 rows (unequal
    shares, a short last batch). Returns (model, history)."""
    x, y = data()
    model = model if model is not None else build()
    history = model.fit(x, y, batch_size=8, epochs=EPOCHS, shuffle=True, verbose=0,
                        callbacks=list(callbacks))
    return model, history


def report(model, history, **extra) -> dict:
    return {"weights": [w.tolist() for w in model.get_weights()],
            "epochs": list(history.epoch),
            "history": {k: [float(v) for v in vs] for k, vs in history.history.items()}, **extra}


def count_writes() -> list:
    """Count the backups this process writes (BackupAndRestore's atomic_save)."""
    writes = []
    save = backup_and_restore.atomic_save

    def counting(obj, path):
        writes.append(str(path))
        save(obj, path)

    backup_and_restore.atomic_save = counting
    return writes


def main(out_dir, mode):
    torch.set_num_threads(1)
    ks.config.set_floatx("float64")
    rank = int(os.environ["RANK"])
    backup_dir = os.path.join(out_dir, f"backup_rank{rank}")
    if mode == "resume":
        writes = count_writes()
        victim = int(os.environ.get("RESUME_VICTIM", "1"))
        callbacks = [ks.callbacks.BackupAndRestore(backup_dir)]
        if rank == victim:
            callbacks.append(KillAt(KILL_EPOCH, os.path.join(out_dir, "killed")))
        model, history = train(callbacks)
        result = report(model, history, writes=len(writes),
                        restarts=int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")))
    elif mode == "checks":
        # 1. A backup rank 0 refuses: the same ValueError on every rank, and the job goes on.
        if rank == 0:
            os.makedirs(backup_dir)
            torch.save({"format": 1, "epoch": EPOCHS + 1}, os.path.join(backup_dir, "backup.pt"))
        try:
            train([ks.callbacks.BackupAndRestore(backup_dir)])
            print("NOT REFUSED", flush=True)
        except ValueError as e:
            print(f"REFUSED: {e}", flush=True)
        # 2. load_weights on rank 0 only; the others keep other initial weights.
        model = build(seed=10 + rank)
        if rank == 0:
            model.load_weights(os.path.join(out_dir, "start.weights.h5"))
        model, history = train(model=model)
        result = report(model, history)
    else:
        raise ValueError(f"Invalid MODE: expected 'resume' or 'checks', received {mode!r}")
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
