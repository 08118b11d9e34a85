"""Keras masks on a model's outputs: padded positions weigh nothing in the loss and the metrics.

An output that carries a mask (N, T) — a sequence out of an RNN with `return_sequences=True` fed by
`Embedding(mask_zero=True)`, say — is trained and scored on its real positions only, as in Keras 3
(`apply_mask` in keras/src/losses/loss.py):

- loss, reduction "sum_over_batch_size" (the default): a real position weighs total / valid and a
  padded one 0, where total = N T and valid = the number of real positions, so
      L = sum_real(w l) / (N T) * (N T) / valid = sum_real(w l) / valid,
  the mean over real positions (0 when no position is real); reduction "sum": weights 0 / 1;
- metrics: weights 0 / 1, so a mean metric averages the real positions;
- a user's sample weight (N,) or (N, T) multiplies in.

`OutputMasks`, mixed into the trainer, keeps the output masks of the latest forward in
`_batch_masks` (None for an unmasked model, which then costs one attribute test per step). Under
data parallelism `_mask_counts` sums (valid, total) over the ranks, so that each rank's share is
weighed by the global batch's counts and the ranks' losses add up to the one-process loss
(kerasette/training/distributed.py).
"""

import torch


class OutputMasks:
    """The trainer's side of output masks."""

    _batch_masks = None  # the output masks of the latest forward: None, one mask, or a list
    _mask_counts = None  # under data parallelism: `summed_counts` of the strategy

    def _run_keeping_masks(self, xs: list, training: bool, steps):
        """`(outputs, backward)` of the graph; a masked plan also keeps the outputs' masks."""
        if not steps.masked:
            self._batch_masks = None
            return self._run(xs, training, steps)
        outs, backward, out_masks = self._graph.forward_masked(xs, training, steps)
        present = not all(m is None for m in out_masks)
        self._batch_masks = None if not present else out_masks[0] if len(out_masks) == 1 \
            else out_masks
        return outs, backward

    def _metric_weights(self, sw, pred):
        """`(extra arguments of the unweighted metrics, sw of the weighted ones)`: `((), sw)`
        unmasked; with masks, the masks alone and the masks times sw."""
        if self._batch_masks is None:
            return (), sw
        return (metric_weights(self, None, pred),), metric_weights(self, sw, pred)

    def _loss_weights(self, sw, out):
        """`sw` for the loss: with the outputs' masks applied when the latest forward had any."""
        return sw if self._batch_masks is None else loss_weights(self, sw, out)


def _reduction(loss) -> str:
    """The reduction of a (possibly wrapped: scaled, fused) loss."""
    while loss is not None and not hasattr(loss, "reduction") and hasattr(loss, "loss"):
        loss = loss.loss
    return getattr(loss, "reduction", "sum_over_batch_size")


def _combine(sw, weight: torch.Tensor):
    """`weight` (N, T) times the sample weight: None, a scalar, (N,), (N, 1) or (N, T)."""
    if sw is None:
        return weight
    sw = torch.as_tensor(sw, device=weight.device).to(weight.dtype)
    if sw.dim() == 1 or sw.dim() == 2 and sw.shape[1] == 1 and weight.shape[1] != 1:
        sw = sw.reshape(-1, *([1] * (weight.dim() - 1)))
    return weight * sw


def _mask_weight(mask: torch.Tensor, dtype, reduction: str, counts=None) -> torch.Tensor:
    m = mask.to(dtype)
    if reduction in ("sum_over_batch_size", "mean"):
        valid, total = m.sum(), m.numel()
        if counts is not None:  # the global batch's (valid, total), summed over the ranks
            valid, total = counts(valid, total)
        # total / valid on real positions; no real position: every weight 0 (Keras's divide_no_nan)
        scale = torch.where(valid > 0, total / valid.clamp_min(1), torch.zeros_like(valid))
        return m * scale
    return m


def loss_weights(model, sw, out):
    """The sample weights the loss gets: `sw` with the outputs' masks applied."""
    masks, counts = model._batch_masks, model._mask_counts
    if not isinstance(masks, list):  # one output
        return _combine(sw, _mask_weight(masks, out.dtype, _reduction(model._train_loss), counts))
    losses = getattr(model._train_loss, "losses", None) or [model._train_loss] * len(masks)
    sws = list(sw) if isinstance(sw, (list, tuple)) else [sw] * len(masks)
    return [s if m is None or loss is None else
            _combine(s, _mask_weight(m, o.dtype, _reduction(loss), counts))
            for m, s, o, loss in zip(masks, sws, out, losses)]


def summed_counts(strategy):
    """`counts(valid, total)` for `model._mask_counts`: both summed over the ranks (one small
    all_reduce; every rank calls it at the same points, an empty share with zeros)."""
    def counts(valid, total):
        both = torch.stack([valid.to(torch.float64),
                            torch.tensor(float(total), dtype=torch.float64, device=valid.device)])
        strategy.all_reduce_sum(both, "the masked positions of the global batch")
        return both[0].to(valid.dtype), both[1].to(valid.dtype)  # tensors: no sync here
    return counts


def metric_weights(model, sw, pred):
    """The sample weights of the metrics: the masks as 0 / 1 times `sw` (also for the metrics
    compiled without weights: a padded position is never scored)."""
    masks = model._batch_masks
    if not isinstance(masks, list):
        return _combine(sw, masks.to(pred.dtype))
    sws = list(sw) if isinstance(sw, (list, tuple)) else [sw] * len(masks)
    return [s if m is None else _combine(s, m.to(p.dtype)) for m, s, p in zip(masks, sws, pred)]
