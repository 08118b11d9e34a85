"""`evaluate` / fit's validation and `predict` under a distribution: each rank on its share.

Every rank reads the same batches (arrays are cut alike on every rank; a Dataset, DataLoader,
generator or PyDataset must yield the same batches on every rank: no per-rank shuffling or
DistributedSampler) and takes rows lo:hi = `strategy.shard_bounds(n)` of each batch of n rows,
possibly none when n < world_size. Nothing is padded or duplicated.

evaluate: on its rows a rank adds value * (hi - lo) to its loss sum, where value is the share's
loss (sum_i w_i l_i / (hi - lo)) plus the penalties as one process adds them (weight regularizers
P, the share's add_loss values), and updates its metrics. Summed over ranks this is exactly one
process's sum_b (v_b + P + A_b) * n_b, since the shares of a batch hold its n_b rows once. The loss
sum, the row count and the metric states are summed across ranks once, at the end, with one
`reduce_step`, and every rank logs and returns the same values. When some rank's callback or progress
bar reads batch logs (`cbs.has_test_batch_hooks`, agreed across ranks first: the progress bar runs
on rank 0 only), each batch also sums a copy of the running states for that batch's logs, then
restores this rank's own.

predict: a rank predicts its rows of every batch and keeps them; at the end `strategy.gather_rows`
brings every rank's rows to every rank (per output), and they are put back in the original order.
Memory per rank is its share of the outputs until that gather. When some rank's callback reads
batch outputs (`cbs.has_predict_batch_hooks`), each batch is gathered at once instead. A rank with
an empty share still joins every gather, with zero rows shaped by a one-row forward (done once).

A rank whose shares are all empty joins every collective all the same: the number of collectives
depends only on the batches and the agreed hook flag, never on a share.
"""

import contextlib

import torch

from ..data import _index, _rows
from ..models.loader_batches import no_batches_error
from . import distributed, masks
from .outputs import concat


def _agreed(strategy, flag: bool, what: str) -> bool:
    """`flag` true on some rank (the progress bar runs on rank 0 only): then on every rank."""
    return strategy.any_rank(bool(flag), what)


@contextlib.contextmanager
def _summed_view(model, strategy, totals, what: str):
    """Inside the block the metrics report their states summed over the ranks, and `totals`
    ([loss sum, rows], float64) holds the sums; afterwards each rank's own states are back."""
    states = distributed._metric_tensors(model)
    saved = [s.clone() for s in states]
    strategy.reduce_step([totals, *states], what)
    changed = distributed.read_as_updated(model)
    try:
        yield
    finally:
        for s, v in zip(states, saved):
            s.copy_(v)
        distributed.restore_fresh(changed)


def _logs(model, totals):
    loss_sum, count = totals[0], int(totals[1].item())
    return model._running_logs(loss_sum.to(model._dtype), count)


def _shares(batches, steps, strategy):
    """`(step, batch, n, lo, hi)` for each global batch of one pass from the start (at most
    `steps`): the batch's n rows, of which lo:hi are this rank's share."""
    for step, batch in enumerate(batches.epoch()):
        if steps is not None and step >= steps:
            return
        n = _rows(batch[0])
        yield (step, batch, n, *strategy.shard_bounds(n))


def evaluate_batches(model, batches, cbs, steps, strategy) -> dict:
    """`Evaluation._evaluate_batches` on this rank's share of every batch; the same logs on every rank."""
    masked = model._graph.plan().masked
    model._mask_counts = masks.summed_counts(strategy) if masked else None
    try:
        return _evaluate_batches(model, batches, cbs, steps, strategy, masked)
    finally:
        model._mask_counts = None


def _evaluate_batches(model, batches, cbs, steps, strategy, masked: bool) -> dict:
    """`evaluate_batches`; `masked`: every rank runs every batch (an empty share with 0 rows), for
    the all_reduce of the global batch's mask counts."""
    model._reset_metrics()
    cbs.on_test_begin()
    per_batch = _agreed(strategy, cbs.has_test_batch_hooks, "evaluate's batch-log check")
    loss_sum = torch.zeros((), dtype=model._dtype, device=model._device)
    totals = torch.zeros(2, dtype=torch.float64, device=model._device)  # [loss sum, rows]
    mine = seen = 0  # rows of this rank's shares, rows of the batches
    penalized = bool(model._regularized or model._loss_layers)
    for step, (xb, yb, swb), n, lo, hi in _shares(batches, steps, strategy):
        if per_batch:
            cbs.on_test_batch_begin(step)
        if hi > lo or masked:
            window = slice(lo, hi)
            ys, ss = _index(yb, window), _index(swb, window)
            out, pred, _ = model._forward(_index(xb, window), False, model._fused)
            value, _ = model._train_loss.forward(ys, out, model._loss_weights(ss, out))
            if penalized:  # P + this share's add_loss values: see the module docstring
                value = model._penalties(value, grads=False)
            if hi > lo:
                loss_sum.add_(value, alpha=hi - lo)
                mine += hi - lo
                model._update_metrics(ys, pred, ss)
        seen += n
        if per_batch:
            totals[0], totals[1] = loss_sum, mine
            with _summed_view(model, strategy, totals, "evaluate's batch logs"):
                logs = _logs(model, totals)
            cbs.on_test_batch_end(step, logs)
    if seen == 0:
        raise no_batches_error(batches)
    totals[0], totals[1] = loss_sum, mine
    distributed.reduce_metrics(model, strategy, [totals], "evaluate's loss and metric states")
    _check_rows(int(totals[1].item()), seen, batches, strategy)
    logs = dict(_logs(model, totals))
    cbs.on_test_end(logs)
    return logs


def _check_rows(total: int, seen: int, batches, strategy) -> None:
    if total != seen:
        name = getattr(batches, "name", "x")
        raise ValueError(f"Invalid {name}: under a distribution every rank must read the same "
                         f"batches, but the ranks' shares add up to {total} rows while this rank "
                         f"(rank {strategy.rank}) read {seen} (a loader that shuffles or shards "
                         f"per rank, e.g. a DistributedSampler?)")


def _empty_like_output(model, xb):
    """Zero rows shaped and typed like the model's outputs (one row predicted, then dropped)."""
    out = model._forward(_index(xb, slice(0, 1)), False, False)[0]
    return [o[:0] for o in out] if isinstance(out, list) else out[:0]


def _gather(strategy, out, what: str):
    if isinstance(out, list):
        return [strategy.gather_rows(o, what) for o in out]
    return strategy.gather_rows(out, what)


def predict_batches(model, batches, cbs, steps, strategy):
    """All outputs of `Evaluation.predict`'s loop (a tensor, or a list per output) in the original
    order, on every rank; each rank ran the forward on its share of every batch only."""
    per_batch = _agreed(strategy, cbs.has_predict_batch_hooks, "predict's batch-hook check")
    shares, sizes = [], []
    empty = None
    for step, (xb, _, _), n, lo, hi in _shares(batches, steps, strategy):
        if per_batch:
            cbs.on_predict_batch_begin(step)
        if hi > lo:
            out = model._forward(_index(xb, slice(lo, hi)), False, False)[0]
        else:
            if empty is None:
                empty = _empty_like_output(model, xb)
            out = empty
        sizes.append(n)
        if per_batch:
            out = _gather(strategy, out, "predict's batch outputs")
            _check_rows(_rows(tuple(out)) if isinstance(out, list) else _rows(out), n, batches,
                        strategy)
            cbs.on_predict_batch_end(step, {"outputs": out})
        shares.append(out)
    if not sizes:
        cbs.on_predict_end()
        raise no_batches_error(batches)
    if per_batch:
        cbs.on_predict_end()
        return concat(shares)
    if all(s is empty for s in shares) and empty is not None:
        local = empty
    else:
        local = concat([s for s in shares if s is not empty])
    gathered = _gather(strategy, local, "predict's outputs")
    order = _original_order(sizes, strategy)
    first = gathered[0] if isinstance(gathered, list) else gathered
    _check_rows(first.shape[0], order.numel(), batches, strategy)
    cbs.on_predict_end()
    if isinstance(gathered, list):
        return [_reorder(g, order) for g in gathered]
    return _reorder(gathered, order)


def _original_order(sizes: list, strategy) -> torch.Tensor:
    """For rows gathered in rank order (each rank: its share of batch 0, of batch 1, ...), the
    position of each in the original order."""
    from ..distribution import shard_bounds

    parts, world = [], strategy.world_size
    for rank in range(world):
        offset = 0
        for n in sizes:
            lo, hi = shard_bounds(n, rank, world)
            if hi > lo:
                parts.append(torch.arange(offset + lo, offset + hi))
            offset += n
    return torch.cat(parts)


def _reorder(gathered: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(gathered)
    out[order.to(gathered.device)] = gathered
    return out
