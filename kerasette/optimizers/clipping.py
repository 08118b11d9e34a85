"""Gradient clipping, in place, with Keras 3's three meanings; each fast form has a readable twin.

    clipvalue        g <- clamp(g, -c, c)                                    entry by entry
    clipnorm         g_i <- g_i * c / max(||g_i||, c)                        each weight i alone
    global_clipnorm  g_i <- g_i * c / max(||g||, c),  ||g|| = norm of all gradients laid end to end

Keras writes the last two as `g * c / max(norm, c)` and `g * c * min(1/norm, 1/c)`; here the
scale `c / max(norm, c)` is computed first (one scalar per weight), which differs only by rounding.
The scale stays a tensor: clipping never synchronises with the device. A NaN norm gives NaN
gradients (the step then shows the problem); an infinite global norm zeroes the finite entries and
makes the infinite ones NaN. torch's `clip_grad_norm_` uses `c / (norm + 1e-6)` instead, so it
differs by about 1e-6.

The fast forms work on the flat gradient buffer (`grads`) or on precomputed per-weight views of it
(`views`, 1-D slices); the `*_readable` twins loop over the weights' gradients and give
bit-identical results.
"""

import torch

# One call for every per-weight norm (on CPU it runs `linalg.vector_norm` on each view, in C++).
_foreach_norm = getattr(torch, "_foreach_norm", None)


def _foreach_mul_broadcasts() -> bool:
    """Whether `_foreach_mul_(tensors, scalar_tensors)` accepts 0-d factors (older torch wanted
    equal shapes); checked once at import."""
    try:
        t = [torch.ones(2)]
        torch._foreach_mul_(t, [torch.tensor(2.0)])
        return bool((t[0] == 2.0).all())
    except (AttributeError, RuntimeError):
        return False


_FOREACH_MUL = _foreach_mul_broadcasts()


def clip_by_value(grads: torch.Tensor, clipvalue: float) -> None:
    """Clip every entry of the flat gradient buffer to [-clipvalue, clipvalue] (one op)."""
    grads.clamp_(-clipvalue, clipvalue)


def clip_by_norm_per_weight(views: list, clipnorm: float) -> None:
    """Rescale each weight's gradient (a 1-D view of the flat buffer) to norm <= clipnorm.

    Per-segment norms of a flat buffer: one `_foreach_norm` over the views (a segment-id
    `index_add_` would be one op too, but it accumulates sequentially: 20x slower and far less
    accurate in float32), then the scales as one small tensor, then one `_foreach_mul_`.
    """
    if _foreach_norm is None or not _FOREACH_MUL:  # older torch: the same math, a Python loop
        clip_by_norm_per_weight_readable(views, clipnorm)
        return
    norms = torch.stack(_foreach_norm(views))
    scales = clipnorm / norms.clamp_min(clipnorm)
    torch._foreach_mul_(views, scales.unbind(0))


def clip_by_global_norm(grads: torch.Tensor, clipnorm: float) -> None:
    """Rescale the whole flat gradient buffer so that its norm is <= clipnorm (4 small ops)."""
    norm = torch.linalg.vector_norm(grads)
    grads.mul_(clipnorm / norm.clamp_min(clipnorm))


# ----- readable twins: one weight at a time ----------------------------------------------------
def clip_by_value_readable(grads: list, clipvalue: float) -> None:
    for g in grads:
        g.clamp_(-clipvalue, clipvalue)


def clip_by_norm_per_weight_readable(grads: list, clipnorm: float) -> None:
    for g in grads:
        norm = torch.linalg.vector_norm(g)
        g.mul_(clipnorm / norm.clamp_min(clipnorm))


def clip_by_global_norm_readable(grads: list, clipnorm: float) -> None:
    norm = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]))
    for g in grads:
        g.mul_(clipnorm / norm.clamp_min(clipnorm))
