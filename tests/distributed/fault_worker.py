"""One rank of the fault tests: rank `victim` fails right before a step's reduce; the others reduce.

    python fault_worker.py MODE VICTIM TIMEOUT      MODE: exit | sigkill | raise | hang

The survivors must raise kerasette's RuntimeError (rank, operation) within TIMEOUT and exit non-zero;
a survivor that gets through prints SURVIVED and exits 0 (the test fails on it).
"""

import os
import signal
import sys
import time

import torch

import kerasette as ks

torch.set_num_threads(1)
mode, victim, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = ks.distribution.DataParallel(timeout=timeout).connect("cpu")
grads = torch.ones(100_000)
s.reduce_step([grads, torch.tensor(1.0)])      # a healthy first step
print(f"rank {s.rank} ready", flush=True)
if s.rank == victim:
    if mode == "exit":
        os._exit(17)
    if mode == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "raise":
        raise ValueError("the victim's own bug")
    if mode == "hang":
        time.sleep(10 * timeout)
        os._exit(0)
start = time.monotonic()
try:
    s.reduce_step([grads, torch.tensor(1.0)], what="reduce_step (epoch 0, step 1)")
except RuntimeError:
    print(f"FAILED after {time.monotonic() - start:.1f} s", flush=True)
    raise
print(f"SURVIVED after {time.monotonic() - start:.1f} s", flush=True)
