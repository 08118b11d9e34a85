"""`StepSync`: what the trainer's training step calls under a distribution (one per fit).

    sync = StepSync(strategy, grads=model_flat.grads, metric_states=[...increment tensors...])
    for xb, yb, swb in global_batches:                      # same permutation on every rank
        lo, hi = sync.begin(len(xb), fingerprint(xb))       # this rank's rows; arms draw_rows
        if hi > lo:                                         # (or every_rank: 0 rows too)
            value, dloss = loss(yb[lo:hi], forward(xb[lo:hi]), swb[lo:hi])   # mean over the share
            backward(dloss() * sync.scale)                  # scale = (hi - lo) / n: see below
            ... fill the metric increments from this share ...
        r = sync.reduce(value if hi > lo else None, stop=model.stop_training)
        if not r.same_batch: raise ...                      # ranks read different batches
        if r.stop or r.nonfinite: break                     # the same decision on every rank
        optimizer.step()

Scaling: the share's loss value is v = sum_{share} w_i l_i / (hi - lo); the global batch's loss is
sum_{all} w_i l_i / n. Multiplying this rank's upstream gradient by (hi - lo) / n makes it the
gradient of sum_{share} w_i l_i / n, and the all-reduced sum over ranks the gradient of the global
loss, exactly as in one process. The reduced loss_sum / n is the global batch loss.
"""

from typing import NamedTuple

import torch

from .share import _state as _share_state


def fingerprint(x) -> torch.Tensor:
    """One number for a global batch: sum_i s_i x_i over the first input's values, with fixed
    pseudo-random signs s_i = +-1. Equal on every rank that holds the same batch; two different
    batches give different numbers (almost surely, even for data whose plain sum barely changes
    between batches, such as image pixels). One read of the batch."""
    x = x[0] if isinstance(x, tuple) else x
    flat = x.reshape(-1) if x.is_floating_point() else x.reshape(-1).to(torch.float64)
    key = (flat.numel(), flat.dtype, flat.device)
    signs = _SIGNS.get(key)
    if signs is None:
        g = torch.Generator().manual_seed(559)
        signs = (torch.randint(0, 2, (flat.numel(),), generator=g) * 2 - 1).to(flat.dtype)
        if len(_SIGNS) > 8:  # a few batch sizes per fit (the last batch is shorter)
            _SIGNS.clear()
        signs = _SIGNS[key] = signs.to(flat.device)
    return torch.dot(flat, signs)


_SIGNS: dict = {}


class Reduced(NamedTuple):
    loss: torch.Tensor        # the global batch's loss, sum_i w_i l_i / n (0-d, on the device)
    loss_sum: torch.Tensor    # sum_i w_i l_i over the global batch
    count: int                # rows of the global batch
    stop: bool                # some rank had stop_training set when the reduce started
    nonfinite: bool           # some rank's loss was NaN or infinite
    same_batch: bool          # every rank's global batch had the same fingerprint


class StepSync:
    def __init__(self, strategy, grads: torch.Tensor, metric_states=(), every_rank: bool = False):
        self.strategy = strategy
        self.every_rank = every_rank  # the trainer runs empty shares too (see share.py)
        dtype, device = grads.dtype, grads.device
        self.grads = grads
        self.loss_sum = torch.zeros((), dtype=dtype, device=device)
        # [nonfinite, stop, f, f^2, rows] with f this rank's batch fingerprint: after the sum over
        # W ranks, W * sum(f^2) == sum(f)^2 exactly when every f is equal (Cauchy-Schwarz), and
        # rows is the global batch's row count. One read of this vector per step.
        self.flags = torch.zeros(5, dtype=dtype, device=device)
        self.metric_states = list(metric_states)
        self.tensors = [grads, self.loss_sum, *self.metric_states, self.flags]
        self.lo = self.hi = self.n = 0
        self.scale = 1.0

    def begin(self, n: int, fingerprint=None) -> tuple[int, int]:
        """Start the step on a global batch of n rows: (lo, hi) of this rank; arms draw_rows.
        `fingerprint`: the batch's `fingerprint(x)`, checked to be the same on every rank."""
        self.lo, self.hi = self.strategy.shard_bounds(n)
        if fingerprint is not None:
            f = fingerprint.to(self.flags.dtype)
            self.flags[2] = f
            self.flags[3] = f * f
        self.n = n
        self.scale = (self.hi - self.lo) / n if n else 0.0
        _share_state.update(share=(self.lo, self.hi, n), strategy=self.strategy,
                            empty_shares_run=self.every_rank)
        return self.lo, self.hi

    def reduce(self, value, stop: bool = False, extra_loss_sum=None) -> Reduced:
        """One all_reduce of [grads, loss_sum, *metric_states, [nonfinite, stop, f, f^2, rows]].

        `value`: the share's mean loss (0-d tensor), or None for an empty share (the caller left the
        gradients and metric increments at zero). `extra_loss_sum`: a 0-d tensor added to this
        rank's loss sum (its part of the layers' add_loss values, times the global batch size).
        """
        _share_state.update(share=None, strategy=None, empty_shares_run=False)
        rows = self.hi - self.lo
        if value is None or rows == 0:
            self.loss_sum.zero_()
        else:
            torch.mul(value.detach().to(self.loss_sum.dtype), rows, out=self.loss_sum)
        if extra_loss_sum is not None:
            self.loss_sum.add_(extra_loss_sum.detach().to(self.loss_sum.dtype))
        self.flags[0] = (~torch.isfinite(self.loss_sum)).to(self.flags.dtype)
        self.flags[1] = 1.0 if stop else 0.0
        self.flags[4] = rows
        self.strategy.reduce_step(self.tensors)
        nonfinite, stop_any, f_sum, f_squares, count = self.flags.tolist()  # one device read
        w = self.strategy.world_size
        # different batches on some ranks (relative tolerance for the packing's rounding; an
        # overflowing square gives NaN, which passes)
        differ = w * f_squares - f_sum * f_sum > 1e-4 * w * f_squares
        count = int(count)
        loss = self.loss_sum / max(count, 1)
        return Reduced(loss, self.loss_sum, count, stop_any > 0, nonfinite > 0, not differ)
