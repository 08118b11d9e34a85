"""Gradient checking: compare a hand-written backward with central finite differences.

    import torch
    import kerasette as ks

    layer = ks.layers.Dense(3, activation="tanh")
    errors = ks.testing.check_gradients(layer, torch.randn(4, 2))
    # {'input': 3.1e-11, 'dense/kernel': 2.7e-11, 'dense/bias': 1.9e-11}
    assert max(errors.values()) < 1e-6

    loss = ks.losses.MeanSquaredError()
    ks.testing.check_gradients(loss, torch.randn(4, 1), y_true=torch.randn(4, 1))
    # {'input': 4.0e-11}         ("input" is y_pred for a loss)

How it works. A layer's output y is a tensor, so it is first turned into a scalar with a fixed
random projection, L = sum(r * y) with r ~ N(0, 1) drawn from `seed`; then dL/dy = r. (Projecting
with ones would hide bugs: for a softmax, sum(y) = 1 whatever x, so the numeric gradient would be
zero and a backward returning zeros would pass.) The analytic gradients are what the layer's
backward gives for dy = r: dL/dx, and dL/dW in each weight's `.grad`. The numeric gradient of each
entry t_i of x or of a weight is the central difference

    dL/dt_i ~ (L(t_i + eps) - L(t_i - eps)) / (2 eps)       (error O(eps^2), two forwards per entry)

and the two are compared by relative error ||analytic - numeric|| / (||analytic|| + ||numeric||).
In float64 with eps = 1e-6 a correct backward gives errors around 1e-10; a wrong one gives errors
of order 1e-2 to 1. Use small inputs: it costs two forward passes per entry.

A layer called on a list of tensors (a merge layer such as `Add`) is checked with a list `x`: its
backward must return a tuple with one gradient per input, and the result has one entry per input,
"input_0", "input_1", ..., instead of "input":

    check_gradients(ks.layers.Multiply(), [torch.randn(4, 3), torch.randn(4, 3)])
    # {'input_0': 2.2e-11, 'input_1': 1.8e-11}

A loss is already a scalar: L is its value, and dL/dy_pred is what its `backward()` returns.

Precision: the check always runs in float64, whatever `ks.config.floatx()` is. The input is copied
to float64, and each weight's `value` and `grad` are replaced by float64 copies for the duration of
the check; afterwards the original tensors are put back untouched (values and accumulated gradients
unchanged, still views into the model's flat buffers if they were).
"""

import numbers

import torch

from .activations import ActivationFunction
from .layers.base import Layer
from .random_state import make_generator


def check_gradients(target, x, y_true=None, *, eps: float = 1e-6, seed: int = 0,
                    training: bool = False, sample_weight=None) -> dict[str, float]:
    """Relative errors between the analytic and the numeric gradients of `target`.

    A layer that returns a list of outputs is checked on L = sum_k sum(r_k * y_k), with its
    backward given the list of r_k.

    Args:
        target: a Layer (built on `x` if not yet built), an activation function from
            `kerasette.activations`, or a loss with `forward(y_true, y_pred, sample_weight)`.
        x: the input (for a loss: `y_pred`), a tensor or array; it is copied to float64. For a
            layer called on several inputs, a list (or tuple) of them.
        y_true: the targets, required for a loss (integer labels are kept as they are).
        eps: the finite-difference step.
        seed: seeds the random projection r.
        training: passed to a layer's forward. Keep False for random layers (Dropout draws a new
            mask at every forward, so its finite differences would be meaningless); True is for
            deterministic layers that behave differently in training.
        sample_weight: passed to a loss.

    Returns:
        `{"input": err, "<weight name>": err, ...}`, one entry for the input and one for each
        trainable weight of a layer (frozen weights receive no gradient and are skipped). With a
        list `x`: `{"input_0": err, "input_1": err, ..., "<weight name>": err, ...}`.
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"Invalid eps: expected a positive float, received {eps!r}")
    several = isinstance(x, (list, tuple))
    if several and not isinstance(target, Layer):
        raise TypeError(f"Invalid x: a list of inputs needs a Layer target, received "
                        f"{type(target).__name__}")
    if several and not x:
        raise ValueError("Invalid x: expected a non-empty list of inputs, received []")
    x = [_float64_copy(torch.as_tensor(t)) for t in x] if several else _float64_copy(
        torch.as_tensor(x))
    if isinstance(target, Layer):
        target._maybe_build([tuple(t.shape) for t in x] if several else tuple(x.shape))
        weights = target.trainable_weights
        forward = target.forward
    elif isinstance(target, ActivationFunction):
        weights = []

        def forward(x, training):
            return target.forward(x)
    elif callable(getattr(target, "forward", None)):
        if y_true is None:
            raise ValueError("Invalid y_true: a loss needs targets, received None")
        weights, forward = [], None
    else:
        raise TypeError(f"Invalid target: expected a Layer, an activation function or a loss, "
                        f"received {type(target).__name__}")

    saved = [(w, w.value, w.grad) for w in weights]
    try:
        for w in weights:  # float64 stand-ins; the originals are restored in `finally`
            w.value = _float64_copy(w.value)
            w.grad = torch.zeros_like(w.value)
        if forward is not None:
            objective, analytic = _layer_problem(forward, x, weights, seed, training)
        else:
            objective, analytic = _loss_problem(target, x, _as_float64(y_true),
                                                _as_float64(sample_weight))
        grads = analytic()
        inputs = {f"input_{i}": t for i, t in enumerate(x)} if several else {"input": x}
        if several:
            dxs = grads.pop("input")
            if not isinstance(dxs, (tuple, list)) or len(dxs) != len(x):
                raise ValueError(f"Invalid backward: expected a tuple of {len(x)} input gradients "
                                 f"for {len(x)} inputs, received {_describe(dxs)}")
            grads.update(zip(inputs, dxs))
        tensors = {**inputs, **{w.name: w.value for w in weights}}
        return {key: relative_error(grads[key], numeric_gradient(objective, t, eps))
                for key, t in tensors.items()}
    finally:
        for w, value, grad in saved:
            w.value, w.grad = value, grad


def numeric_gradient(objective, t: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central differences of the scalar `objective()` with respect to each entry of `t`.

    `t` must be contiguous; each entry is nudged in place by +eps and -eps, then restored.
    """
    grad = torch.empty_like(t)
    t_flat, grad_flat = t.view(-1), grad.view(-1)
    for i in range(t_flat.numel()):
        original = t_flat[i].item()
        t_flat[i] = original + eps
        up = objective()
        t_flat[i] = original - eps
        down = objective()
        t_flat[i] = original
        grad_flat[i] = (up - down) / (2 * eps)
    return grad


def relative_error(analytic: torch.Tensor, numeric: torch.Tensor) -> float:
    """||analytic - numeric|| / max(||analytic|| + ||numeric||, tiny); 0.0 when both are zero."""
    if tuple(analytic.shape) != tuple(numeric.shape):
        raise ValueError(f"Invalid analytic gradient: expected shape {tuple(numeric.shape)}, "
                         f"received {tuple(analytic.shape)}")
    analytic, numeric = analytic.to(torch.float64), numeric.to(torch.float64)
    scale = float(analytic.norm() + numeric.norm())
    return float((analytic - numeric).norm()) / max(scale, torch.finfo(torch.float64).tiny)


def _layer_problem(forward, x, weights, seed, training):
    """L = sum(r * y): the objective, and the analytic gradients from backward(r).

    A layer with several outputs (a list y_0, y_1, ...) gets one projection per output,
    L = sum_k sum(r_k * y_k), and its backward is given the list [r_0, r_1, ...]."""
    y, _ = forward(x, training=training)
    gen = make_generator(seed)
    several = isinstance(y, (list, tuple))
    r = ([torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.device) for t in y]
         if several else torch.randn(y.shape, generator=gen, dtype=torch.float64).to(y.device))

    def objective():
        out = forward(x, training=training)[0]
        if several:
            return float(sum((t * rk).sum() for t, rk in zip(out, r)))
        return float((out * r).sum())

    def analytic():
        _, backward = forward(x, training=training)
        dx = backward(r)
        return {"input": dx, **{w.name: w.grad.clone() for w in weights}}
    return objective, analytic


def _loss_problem(loss, y_pred, y_true, sample_weight):
    """L = the loss value; the analytic gradient is what its backward returns."""

    def objective():
        value, _ = loss.forward(y_true, y_pred, sample_weight=sample_weight)
        return float(value)

    def analytic():
        _, backward = loss.forward(y_true, y_pred, sample_weight=sample_weight)
        return {"input": backward()}
    return objective, analytic


def _describe(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__


def _float64_copy(t: torch.Tensor) -> torch.Tensor:
    """A contiguous float64 copy (so in-place nudges never touch the caller's tensor)."""
    return t.detach().to(dtype=torch.float64, copy=True).contiguous()


def _as_float64(t):
    """Floating tensors/arrays as float64 copies; integer labels and None unchanged."""
    if t is None:
        return None
    t = torch.as_tensor(t)
    return _float64_copy(t) if t.is_floating_point() else t
