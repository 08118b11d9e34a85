"""One rank of tests/test_distribution_primitives.py: checks every primitive, writes a JSON report.

    RANK=r WORLD_SIZE=w LOCAL_RANK=r MASTER_ADDR=127.0.0.1 MASTER_PORT=p python primitives_worker.py OUT
    (or under torchrun, which sets those)

Every check asserts; any failure exits non-zero with a traceback. The report (OUT/rank<r>.json) holds
what the test re-checks from outside: the shard bounds each rank took.
"""

import json
import os
import sys

import torch

import kerasette as ks

torch.set_num_threads(1)
out_dir = sys.argv[1]
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0

dp = ks.distribution.distribution()          # found in the environment (torchrun)
assert isinstance(dp, ks.distribution.DataParallel), dp
ks.distribution.set_distribution(ks.distribution.DataParallel(timeout=timeout))
dp = ks.distribution.distribution()
s = dp.connect("cpu")
rank, world = s.rank, s.world_size
assert (rank, world) == (int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])) and world > 1
assert s.is_writer == (rank == 0)
assert dp.connect() is s                     # joined once
report = {"rank": rank, "world_size": world, "bounds": {}}

# Shards: gathering each rank's share of arange(n) gives arange(n) back, for equal, unequal and
# empty shares.
for n in range(0, 3 * world + 2):
    lo, hi = s.shard_bounds(n)
    report["bounds"][n] = [lo, hi]
    rows = torch.arange(n, dtype=torch.int64)[lo:hi]
    assert torch.equal(s.gather_rows(rows), torch.arange(n)), n

# reduce_step: exact float64 sums of dyadic values, flags as any-rank, in place, buffer reused.
def step_tensors(r, scale):
    n = 10 + r  # unequal shares; the last rank of a 3-world has an empty share: zeros
    empty = world == 3 and r == 2
    grads = torch.zeros(1000, dtype=torch.float64) if empty else \
        torch.arange(1000, dtype=torch.float64) * (r + 1) * scale + 0.25
    return [grads,
            torch.tensor(0.0 if empty else 1.5 * (r + 1) * scale, dtype=torch.float64),  # loss sum
            torch.tensor(0 if empty else n, dtype=torch.int64),                           # count
            torch.tensor([0.0, 0.0] if empty else [0.5 * r, 2.0], dtype=torch.float64),   # metric
            torch.tensor(1.0 if r == 1 else 0.0, dtype=torch.float64),                    # nonfinite
            torch.tensor(r == world - 1)]                                                 # stop


for scale in (1.0, 0.5):
    mine = step_tensors(rank, scale)
    ids = [t.data_ptr() for t in mine]
    s.reduce_step(mine)
    assert [t.data_ptr() for t in mine] == ids  # in place
    everyone = [step_tensors(r, scale) for r in range(world)]
    for i, t in enumerate(mine):
        parts = [e[i] for e in everyone]
        expected = torch.stack(parts).any(0) if t.dtype == torch.bool else torch.stack(parts).sum(0)
        assert torch.equal(t, expected), (i, t, expected)
assert len(s._packings._packings) == 1      # one buffer, reused

# StepSync, the trainer's contract: a weighted-MSE linear model, each rank's share scaled by
# (hi - lo) / n, gives after one reduce the single-process gradient and loss of the global batch.
g = torch.Generator().manual_seed(5)
W = torch.randn(3, 2, generator=g, dtype=torch.float64)
for n in (7, 2 * world, 1):  # unequal shares, equal shares, empty shares
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    y = torch.randn(n, 2, generator=g, dtype=torch.float64)
    sw = torch.rand(n, generator=g, dtype=torch.float64)

    def loss_and_grad(x, y, sw):  # Keras's sum(w * l) / rows, l = mean over features
        d = x @ W - y
        value = (sw * d.square().mean(1)).sum() / len(x)
        dW = x.T @ (d * sw[:, None] * (2.0 / (len(x) * d.shape[1])))
        return value, dW

    grads = torch.zeros(6, dtype=torch.float64)
    sync = ks.distribution.step.StepSync(s, grads)
    lo, hi = sync.begin(n)
    value = None
    if hi > lo:
        value, dW = loss_and_grad(x[lo:hi], y[lo:hi], sw[lo:hi])
        grads.copy_(dW.reshape(-1) * sync.scale)
    r = sync.reduce(value, stop=(rank == 0 and n == 1))
    full_value, full_dW = loss_and_grad(x, y, sw)
    assert torch.allclose(grads, full_dW.reshape(-1), rtol=1e-12, atol=1e-14), (grads, full_dW)
    assert torch.allclose(r.loss, full_value, rtol=1e-12) and r.count == n
    assert r.stop == (n == 1) and not r.nonfinite

# broadcast_from_writer: rank 0's weights, state and optimizer counter everywhere, mixed dtypes.
w = torch.full((3, 4), float(rank), dtype=torch.float64)
state = torch.arange(5, dtype=torch.float32) + rank
counter = torch.tensor(7 + rank, dtype=torch.int64)
mask = torch.tensor([rank == 0, False, True])
s.broadcast_from_writer([w, state, counter, mask])
assert torch.equal(w, torch.zeros(3, 4, dtype=torch.float64))
assert torch.equal(state, torch.arange(5, dtype=torch.float32)) and int(counter) == 7
assert mask.tolist() == [True, False, True]

# gather_rows: unequal shares of 2-d float rows and of bools, in rank order.
n = 2 * world + 1
lo, hi = s.shard_bounds(n)
rows = torch.stack([torch.arange(lo, hi, dtype=torch.float64), torch.arange(lo, hi) * 10.0], 1)
full = torch.stack([torch.arange(n, dtype=torch.float64), torch.arange(n) * 10.0], 1)
assert torch.equal(s.gather_rows(rows), full)
assert torch.equal(s.gather_rows(torch.arange(lo, hi) % 2 == 0), torch.arange(n) % 2 == 0)

# A layout that differs on one rank: the same ValueError on every rank, and the group still works.
try:
    s.broadcast_from_writer([torch.zeros(3 + (rank == 1), dtype=torch.float64)])
    raise AssertionError("a mismatched layout went through")
except ValueError as error:
    assert "rank(s) [1]" in str(error), error
try:
    s.gather_rows(torch.zeros(2, 2 + (rank == world - 1)))
    raise AssertionError("mismatched rows went through")
except ValueError as error:
    assert f"rank(s) [{world - 1}]" in str(error), error

# any_rank and rank-0 I/O: only rank 0 writes; after the section every rank sees the file.
assert s.any_rank(rank == world - 1) and not s.any_rank(False)
with s.writer_section("test file") as writing:
    if writing:
        with open(os.path.join(out_dir, f"written_by_rank{rank}.txt"), "w") as f:
            f.write("x")
assert os.path.exists(os.path.join(out_dir, "written_by_rank0.txt"))


@s.writer_only
def save(name):
    with open(os.path.join(out_dir, f"{name}_rank{rank}.txt"), "w") as f:
        f.write("y")
    return name


assert save("decorated") == ("decorated" if rank == 0 else None)
assert os.path.exists(os.path.join(out_dir, "decorated_rank0.txt"))

# The writing callbacks, wrapped: every rank calls the hooks, rank 0 alone writes the CSV file.
csv_path = os.path.join(out_dir, f"log_rank{rank}.csv")
(logger,) = ks.distribution.writer_callbacks.wrap_writers([ks.callbacks.CSVLogger(csv_path)], s)
logger.on_train_begin()
for epoch in range(2):
    logger.on_epoch_begin(epoch)
    logger.on_train_batch_end(0, {"loss": 1.0})
    logger.on_epoch_end(epoch, {"loss": 0.5 / (epoch + 1)})
logger.on_train_end()
assert os.path.exists(os.path.join(out_dir, "log_rank0.csv"))  # written before the meeting
assert os.path.exists(csv_path) == (rank == 0)

# A failure in rank 0's I/O reaches every rank as an error, not a wait.
try:
    with s.writer_section("failing save") as writing:
        if writing:
            raise OSError("disk full")
    raise AssertionError("the failure did not reach this rank")
except OSError:
    assert rank == 0
except RuntimeError as error:
    assert rank != 0 and "raised during failing save" in str(error), error

s.barrier()
with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
    json.dump(report, f)
dp.close()
