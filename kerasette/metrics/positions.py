"""Mean metrics weighted per position: a Keras mask on a sequence output (N, T) as the weights
(kerasette/training/masks.py), so a mean runs over the real positions only, as Keras's
`reduce_to_samplewise_values` makes it."""

import torch


def per_position(sample_weight) -> bool:
    """True for weights of one per position, (N, T, ...), rather than one per sample."""
    return isinstance(sample_weight, torch.Tensor) and sample_weight.dim() >= 2 and \
        tuple(sample_weight.shape[1:]) != (1,)


def accumulate_positions(metric, values: torch.Tensor, w: torch.Tensor) -> None:
    """total += sum(w v), count += sum(w) of a `Mean` metric, values first averaged over any axes
    the weights lack (values (N, T, ...) against weights (N, T))."""
    if values.dim() < w.dim() or tuple(values.shape[:w.dim()]) != tuple(w.shape):
        raise ValueError(f"Invalid sample_weight: per-position weights of shape "
                         f"{tuple(w.shape)} need values of shape {tuple(w.shape)} + (...), "
                         f"received {tuple(values.shape)}")
    dtype = metric._prepare(values)
    v = values.to(dtype)
    if v.dim() > w.dim():
        v = v.flatten(w.dim()).mean(-1)
    w = w.to(device=v.device, dtype=dtype)
    metric._positive_count = False  # the weights may all be 0: result() guards the division
    metric.total.value.add_((v * w).sum())
    metric.count.value.add_(w.sum())
