"""`fit` under a distribution: the trainer's side of `kerasette.distribution`'s contract.

Every rank runs the same fit on the same data. At the start the replicas are made identical (rank
0's weights, layer state and random generators are broadcast), so every rank draws the same shuffle
permutation and cuts the same global batches of `batch_size` rows. Per step each rank takes its
contiguous share rows lo:hi (`StepSync.begin`), runs forward and backward on it with the upstream
gradient scaled by (hi - lo) / n, and one all-reduce sums the gradients, the loss sum, the row count
and the stop / non-finite flags; then every rank applies the same optimizer step. The summed gradient
is the gradient of the global batch's loss sum_i w_i l_i / n, exactly as in one process.

Metrics are updated on each share and their states (sums and counts) are summed across ranks once
at the end of the epoch (`reduce_metrics`, shared with evaluate), so epoch logs — and every callback
deciding on them — are the same on every rank; batch-level metric values in the progress bar are
rank 0's share. Validation, `evaluate` and `predict` are sharded the same way
(`distributed_eval.py`): each rank runs its rows of every batch and the results are summed (loss,
metrics) or gathered (predictions, in the original order), so every rank returns the full result.
"""

import torch

from ..distribution import distribution
from ..distribution.share import needs_every_rank
from ..distribution.step import StepSync, fingerprint
from ..models.loader_batches import no_batches_error
from ..models.logs import LazyLogs
from . import masks
from .structure import _all_layers


def connect(model):
    """The Strategy of the current distribution for this model, or None in a single process."""
    d = distribution()
    if d is None or d.world_size <= 1:
        return None
    return d.connect(model.device)


def sync_replicas(model, strategy) -> None:
    """Rank 0's weights, layer state, optimizer state (slots, step count, a float learning rate) and
    random generators on every rank, before the first step: replicas that drifted apart (weights
    or an optimizer state loaded on rank 0 only) start the fit identical."""
    tensors = [buf.params for buf in (model._buffer, model._frozen_buffer) if buf is not None]
    opt = model.optimizer
    slots = [opt._slots[k] for k in sorted(opt._slots)]
    counters = torch.tensor([float(opt.iterations), opt._lr if opt._lr_fn is None else 0.0],
                            dtype=torch.float64, device=strategy.device)  # exact below 2**53
    # The model's generators (shuffling, dropout) and torch's default one, from which a
    # DataLoader(shuffle=True) draws each epoch's order.
    gens = {**model._generators(), "torch default": torch.default_generator}
    states = [g.get_state() for g in gens.values()]
    dtype = tensors[0].dtype if tensors else torch.float64
    as_float = [s.to(device=strategy.device, dtype=dtype) for s in states]  # bytes 0..255: exact
    strategy.broadcast_from_writer(tensors + slots + [counters] + as_float,
                                   "the initial weights, optimizer state and generators")
    opt.iterations = int(counters[0])
    if opt._lr_fn is None:
        opt._lr = float(counters[1])
    for g, s, f in zip(gens.values(), states, as_float):
        g.set_state(f.to(device="cpu", dtype=torch.uint8).reshape(s.shape))


def different_batches_error(strategy, step: int) -> ValueError:
    return ValueError(
        f"Invalid x: at step {step} of the epoch the {strategy.world_size} ranks hold different "
        f"global batches (this is rank {strategy.rank}). Under kerasette.distribution every rank "
        f"passes the SAME data and fit gives each rank its share of every batch: do not shard the "
        f"data per rank (no DistributedSampler), and make a Dataset / generator yield the same "
        f"batches in the same order on every rank (fit starts each rank from rank 0's torch "
        f"default generator, so DataLoader(shuffle=True) agrees unless ranks draw differently).")


def _metric_tensors(model) -> list:
    """The running states of every metric (sums and counts), as tensors, for a cross-rank sum.

    The layout is the same on every rank, updated or not: the built-in metrics got their states
    (on the model's device, in its dtype) when they were resolved, and a multi-output model's
    <output>_loss, which allocates its state on its first update, gets zeros here.
    """
    out = []
    for m in model._metrics + model._weighted_metrics:
        if hasattr(m, "state_tensors"):  # a multi-output model's <output>_loss
            if getattr(m, "state", 0) is None:  # never updated on this rank (all shares empty)
                m.state = torch.zeros(2, dtype=model._dtype, device=model._device)
            out.extend(m.state_tensors())
            continue
        inner = getattr(m, "metric", m)
        for v in getattr(inner, "variables", ()):
            out.append(v.value if hasattr(v, "value") else v)
    return out


def read_as_updated(model) -> list:
    """Make metrics that this rank never updated read their (now summed) states like updated ones.

    A rank whose shares were all empty never updated its metrics, so they still say "fresh" and
    would report 0: after the states were summed across ranks they hold the global sums, so clear
    the flag (and divide safely). Returns the metrics changed, for `restore_fresh`.
    """
    changed = []
    for m in model._metrics + model._weighted_metrics:
        inner = getattr(m, "metric", m)
        if getattr(inner, "_fresh", False):
            inner._fresh = False
            if hasattr(inner, "_positive_count"):
                inner._positive_count = False
            changed.append(inner)
    return changed


def restore_fresh(changed) -> None:
    """Undo `read_as_updated` (the states went back to this rank's own, never updated)."""
    for inner in changed:
        inner._fresh = True
        if hasattr(inner, "_positive_count"):
            inner._positive_count = True


def reduce_metrics(model, strategy, extra=(), what: str = "the metric states") -> None:
    """Sum `extra` tensors (e.g. a loss sum and a row count) and every metric's running state over
    the ranks, in place, with one `reduce_step`; afterwards every rank's metrics hold the global
    state and report it. No collective when there is nothing to sum (the same on every rank)."""
    tensors = [*extra, *_metric_tensors(model)]
    if tensors:
        strategy.reduce_step(tensors, what)
    read_as_updated(model)


def train_epoch(model, train, steps, cbs, strategy) -> dict:
    """One epoch of data-parallel steps; returns the epoch logs (the same on every rank)."""
    try:
        return _train_epoch(model, train, steps, cbs, strategy)
    finally:
        model._mask_counts = None  # the all_reduce of mask counts belongs to this epoch only


def _train_epoch(model, train, steps, cbs, strategy) -> dict:
    from ..data import _index, _rows

    opt = model.optimizer
    backward_hooks, batch_hooks = cbs.has_backward_hooks, cbs.has_train_batch_hooks
    model._reset_metrics()
    loss_total = torch.zeros((), dtype=model._dtype, device=model._device)
    count = 0
    model._step_cancelled = False
    plan = None
    sync = None
    for step, (xb, yb, swb) in enumerate(train.epoch(steps)):
        if plan is None:
            fused = model._fused
            plan = model._plan(fused, overwrite=True)
            zero_grads = not plan.overwrites_all  # else a backward writes every gradient
            # Layers that reduce across ranks in their forward and backward (synchronized
            # BatchNormalization) need every rank at every step, even with an empty share.
            # So does a masked model: the global batch's mask counts are summed at every step
            # (kerasette/training/masks.py).
            every_rank = needs_every_rank(_all_layers(model._graph_layers())) or plan.masked
            model._mask_counts = masks.summed_counts(strategy) if plan.masked else None
            sync = StepSync(strategy, opt.buffer.grads, every_rank=every_rank)
            zero = torch.zeros((), dtype=model._dtype, device=model._device)
        if batch_hooks:
            cbs.on_train_batch_begin(step)
        n = _rows(xb)
        lo, hi = sync.begin(n, fingerprint(xb))
        value = None
        if zero_grads or not (hi > lo or every_rank):  # no backward here: this share adds 0
            opt.zero_grad()
        if hi > lo or every_rank:  # an empty share: 0 rows through forward and backward
            window = slice(lo, hi)
            xs, ys, ss = _index(xb, window), _index(yb, window), _index(swb, window)
            out, pred, backward = model._forward(xs, True, fused, plan)
            value, dloss = model._train_loss.forward(ys, out, model._loss_weights(ss, out))
            grads = dloss()
            scale = sync.scale
            backward([g * scale if g is not None else None for g in grads]
                     if isinstance(grads, list) else grads * scale)
            if hi > lo:
                model._update_metrics(ys, pred, ss)
        penalty = share_losses = None
        if model._regularized or model._loss_layers:
            # The weights' penalties belong to the global loss once: their gradient is added on
            # rank 0 only (the all-reduce sums it in), their value is logged on every rank. The
            # layers' add_loss values are this rank's part of the global batch's (an activity
            # penalty divides by the global batch size inside a step): summed across ranks.
            share_losses = sum((v for layer in model._loss_layers for v in layer._losses), zero)
            penalty = model._penalties(zero, grads=strategy.is_writer) - share_losses
        r = sync.reduce(value, stop=model.stop_training, extra_loss_sum=(
            None if share_losses is None else share_losses * n))
        if not r.same_batch:  # the same decision on every rank: the reduced sums are the same
            raise different_batches_error(strategy, step)
        loss_total.add_(r.loss_sum)
        if penalty is not None:
            loss_total.add_(penalty, alpha=r.count)
        count += r.count
        if backward_hooks:
            cbs.on_backward_end(step, LazyLogs({"loss": r.loss}))
        if (backward_hooks and model.stop_training) or r.stop:
            model.stop_training = True
            model._step_cancelled = True
            break
        opt.step()
        model._apply_constraints()
        if batch_hooks:
            cbs.on_train_batch_end(step, LazyLogs({"loss": loss_total / max(count, 1)}))
    if count == 0:
        raise no_batches_error(train)
    reduce_metrics(model, strategy, what="the epoch's metric states")
    logs = {"loss": loss_total / max(count, 1)}
    for m in model._metrics + model._weighted_metrics:
        logs[m.name] = m.result()
    return dict(LazyLogs(logs))
