"""Data-parallel training on torch.distributed: the same model on every process, each on its share.

For users (Keras 3 names):

    torchrun --nproc_per_node=2 train.py        # fit / evaluate / predict run unchanged
    ks.distribution.set_distribution(ks.distribution.DataParallel(timeout=120))   # optional
    ks.distribution.distribution()              # the current one, or None

Under torchrun (WORLD_SIZE > 1, with RANK and LOCAL_RANK) a `DataParallel()` is used automatically.
Opt out with `ks.distribution.set_distribution(None)` in the script or `KERASETTE_DISTRIBUTION=off` in
the environment: every process then trains alone on all its data. Joining the process group and
every collective wait at most `timeout` seconds (default 60) for a peer, so a rank that raises, hangs
or is killed makes the others raise a RuntimeError naming their rank and operation: never a hang.
gloo reduces CPU tensors, NCCL CUDA ones (LOCAL_RANK picks the GPU).

Contract for the trainer
========================

`strategy = distribution().connect(model.device)` once per fit / evaluate / predict, after every
argument check (a bad argument raises on every rank alike, before any collective), then:

1. Start of fit, identical replicas: `strategy.broadcast_from_writer([...])` with the flat parameter
   buffer, every layer state tensor (moving statistics), the optimizer's slots, step counter and
   learning rate, and the states of the model's generators (epoch permutations, random layers) and
   of torch's default generator (a DataLoader(shuffle=True) draws its order from it), so ranks
   agree even when the user seeded each process differently. Afterwards the ranks stay identical
   by construction: same summed gradients, same optimizer arithmetic, no re-broadcast per step.

2. Data: `batch_size` is the GLOBAL batch (as in Keras's DataParallel). Every rank draws the same
   seeded permutation, cuts the same global batches, and takes rows `lo:hi = strategy.shard_bounds(N)`
   of each global batch of N rows (contiguous, exact for unequal shares, no padding, no duplicates;
   possibly empty when N < world_size). `validation_split` is taken before all of this, as always.

3. Loss scaling: with per-sample losses l_i and weights w_i (sample_weight x class_weight) on this
   rank's rows, the value this rank differentiates is

       L_rank = sum_{i in share} w_i * l_i / N          N = rows of the GLOBAL batch, not of the share

   (per output, times its loss_weight), i.e. the upstream gradient of sample i is w_i * dl_i / N.
   Then sum over ranks of dL_rank/dtheta is exactly the gradient of Keras's global batch loss
   sum_i w_i l_i / N, the same as single-process training, not a mean of per-rank means.

4. Random layers draw for the global batch and take their share: Dropout draws its mask for all N
   rows from a generator in the same state on every rank and uses rows lo:hi, so the same seed gives
   the same masks on 1 or N ranks: the trainer runs the forward inside `share.global_batch(lo, hi, N)`
   (StepSync.begin does it) and the layer draws through `share.draw_rows(draw, x.shape)`.
   BatchNormalization unsynchronised normalises each rank's share (documented difference);
   `synchronized=True` sums its batch statistics across ranks inside the step (it finds the
   Strategy with `share.step_strategy()`; two small all_reduces forward, one backward). Those
   collectives need every rank: a trainer that runs forward and backward on an empty share too
   (0 rows, zero upstream gradient; `share.needs_every_rank(layers)` says when it must) declares
   it (`StepSync(..., every_rank=True)`, or `share.run_empty_shares(True)`), as the trainer does;
   a caller that does not is refused by the layer with a clear error.

5. One collective per training step, after backward and before the optimizer step:

       strategy.reduce_step([grads, loss_sum, count, *metric_increments,
                             [nonfinite, stop, f, f * f]])

   in this order, all on the model's device; summed in place, with one all_reduce(SUM) of a reused
   packed buffer (its dtype is the gradients'; integers up to 2**24 in float32 are exact):
   - grads: the flat gradient buffer holding dL_rank/dtheta (zeros for an empty share);
   - loss_sum: sum_{i in share} w_i l_i (summed over outputs with loss_weights); count: rows of the
     share. After the reduce, the global batch loss is loss_sum / N and the epoch loss
     sum(loss_sum) / sum(count), as Keras logs it;
   - metric_increments: this step's additions to each metric's state, computed on the share, as
     mergeable sums (a mean's total and count, confusion counts, AUC's per-threshold counts); after
     the reduce, add them into the running state on every rank. Never reduce running totals;
   - nonfinite: 1 where this rank's loss or gradients are not finite;
   - stop: `model.stop_training` as it stands on this rank when the reduce starts;
   - f: a fingerprint of the global batch this rank read (`step.fingerprint`). The ranks held the
     same batch exactly when W * sum(f^2) == sum(f)^2; otherwise every rank raises the same
     ValueError before the optimizer step (data sharded per rank, a Dataset that yields another
     order on each rank), instead of training on mismatched batches.
   After the reduce every rank sees the same logs, so callbacks decide alike; a loop ends when the
   reduced stop (or non-finite) flag is > 0, on every rank at the same step. A stop set by a
   rank-local condition after the last step of an epoch is agreed with `strategy.any_rank(flag)`.
   Then optimizer.step on the summed gradients, on every rank. `step.StepSync` packages items 2-5
   (begin(N) -> (lo, hi) and the scale (hi - lo) / N for dloss; reduce(value, stop) -> global logs).

6. evaluate / validation (`training/distributed_eval.py`): every rank reads the same batches (a
   loader must not shuffle or shard per rank) and runs rows shard_bounds(n) of each; it sums
   value * rows of its shares (penalties included as one process adds them per batch) and updates
   its metrics on them. One `reduce_step([loss_sum, count, *metric_states])` at the end sums the
   running states (every rank then returns the same logs); when a callback or the progress bar on
   any rank reads batch logs (agreed with `any_rank` first), each batch also sums a copy of the
   running states for its logs and restores the rank's own. predict: each rank predicts its rows of
   each batch and keeps them; one `strategy.gather_rows` per output at the end (per batch when a
   callback reads batch outputs) brings all rows to every rank, put back in the original order.
   A rank with empty shares joins every collective (zero rows, shaped by a one-row forward).

7. I/O: History and logs on every rank; the progress bar, prints, CSVLogger, ModelCheckpoint,
   BackupAndRestore and TensorBoard write on rank 0 only, inside `strategy.writer_section(name)`
   (or `@strategy.writer_only`), which ends with a barrier that also carries rank 0's failure to
   the others; `writer_callbacks.wrap_writers(callbacks, strategy)` does it for the writing
   callbacks. load_weights / BackupAndRestore restore: rank 0 reads, then broadcast_from_writer.

8. Failure: an exception in fit on one rank ends that process; its peers fail in their next
   collective (at once when its sockets close, else after `timeout`) with a RuntimeError naming
   their rank and operation, and every later collective on them refuses at once.
"""

from . import share, step, writer_callbacks
from .current import distribution, set_distribution
from .data_parallel import DataParallel
from .environment import OPT_OUT_VARIABLE, read_launch
from .sharding import shard_bounds, shard_sizes
from .strategy import Strategy

__all__ = [
    "DataParallel", "OPT_OUT_VARIABLE", "Strategy", "distribution", "read_launch",
    "set_distribution", "shard_bounds", "shard_sizes", "share", "step",
    "writer_callbacks",
]
