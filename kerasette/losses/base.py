"""The loss protocol and Keras's reductions, shared by every loss.

    value, backward = loss.forward(y_true, y_pred, sample_weight)   # value: 0-d tensor
    dy_pred = backward()                                             # dL/dy_pred, y_pred's shape

A subclass only writes `_terms(y_true, y_pred) -> (terms, grad)`, its value and its gradient side by
side:
  - `terms` holds the loss terms of each sample along one *reduced axis* (`_axis`): for the
    regression losses and binary cross-entropy one term per output (the last axis), which the
    per-sample loss averages, as Keras's `mean(..., axis=-1)`; for the categorical cross-entropies
    one term per sample (the class axis summed with keepdim, so it has size 1).
  - `grad(c)` returns d(sum(c * terms))/dy_pred for `c` a float or a tensor that broadcasts to
    `terms` (the reduction's scale times the sample weights).

Reductions (Keras's rule), with l_i the per-sample losses (i over the M = N * ... entries of the
loss shape: `y_pred.shape` without the reduced axis, or N for 1-D predictions), w_i the weights:
  "sum_over_batch_size" (default)   L = sum_i w_i l_i / M   (M counts samples, not sum(w))
  "sum"                             L = sum_i w_i l_i
  None / "none"                     the vector w_i l_i (`__call__` only: it has no scalar gradient)
With k terms per sample (the reduced axis's size) that is L = c * sum(w * terms) with
c = 1 / (k M) or 1 / k, and dL/dy_pred = grad(c * w).
"""

import torch

from .. import config
from ..serialization import Configurable

REDUCTIONS = ("sum_over_batch_size", "sum", "none", None)


class Loss(Configurable):
    """Base class of every loss (Keras 3 API: `loss(y_true, y_pred, sample_weight=None)`).

    A user's subclass may define `call(y_true, y_pred)` with ks.ops, Keras's way to write a loss:
    it is then traced into a graph as a loss function is (`FunctionLoss`, function_loss.py), with
    this loss's name and reduction."""

    default_name = "loss"
    _defines_call = False  # set for a subclass that defines call(y_true, y_pred)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._defines_call = callable(getattr(cls, "call", None))

    def _traced(self):
        """The FunctionLoss that traces this loss's `call` (made at first use)."""
        traced = self.__dict__.get("_traced_call")
        if traced is None:
            from .function_loss import FunctionLoss

            traced = self._traced_call = FunctionLoss(self.call, name=self.name,
                                                      reduction=self.reduction)
        return traced

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size"):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Invalid name: expected a string or None, "
                            f"received {type(name).__name__}")
        if reduction is not None and not (isinstance(reduction, str) and reduction in REDUCTIONS):
            raise ValueError(f"Invalid reduction: expected one of {list(REDUCTIONS)}, "
                             f"received {reduction!r}")
        self.name = name or self.default_name
        self.reduction = reduction

    # ----- what a subclass writes ------------------------------------------------------------
    def _check(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        """Check the shapes (cheaply) and return y_true ready for `_terms`."""
        raise NotImplementedError

    def _axis(self, y_pred: torch.Tensor) -> int | None:
        """The non-negative reduced axis of `terms`, or None for 1-D predictions."""
        raise NotImplementedError

    def _terms(self, y_true: torch.Tensor, y_pred: torch.Tensor):
        """Return `(terms, grad)` as described in the module docstring."""
        raise NotImplementedError

    # ----- the protocol ----------------------------------------------------------------------
    def forward(self, y_true, y_pred, sample_weight=None):
        """Return `(value, backward)`: value is the reduced 0-d loss, `backward()` gives dL/dy_pred
        (same shape as y_pred)."""
        if self._defines_call:
            return self._traced().forward(y_true, y_pred, sample_weight)
        self._check_trainable_reduction()
        y_true, y_pred = _as_tensors(y_true, y_pred)
        y_true = self._check(y_true, y_pred)
        terms, grad = self._terms(y_true, y_pred)
        sum_over_batch_size = self.reduction == "sum_over_batch_size"
        if sample_weight is None and sum_over_batch_size:  # the hot path: no reshaping at all
            scale = 1.0 / max(terms.numel(), 1)
            return terms.mean(), lambda: grad(scale)
        axis = self._axis(y_pred)
        if sum_over_batch_size:
            scale = 1.0 / max(terms.numel(), 1)
        else:  # "sum": average the k terms of each sample, then add the samples
            scale = 1.0 / (terms.shape[axis] if axis is not None else 1)
        if sample_weight is None:
            return terms.sum() * scale, lambda: grad(scale)
        w = _broadcast_weight(sample_weight, y_pred, axis)
        value = (terms * w).sum() * scale
        return value, lambda: grad(w * scale)

    def _check_trainable_reduction(self) -> None:
        """ValueError for reduction None: per-sample losses have no scalar gradient."""
        if self.reduction is None or self.reduction == "none":
            raise ValueError(f"Loss '{self.name}' has reduction={self.reduction!r}, which gives a "
                             f"vector of per-sample losses and no gradient; use "
                             f"'sum_over_batch_size' or 'sum' to train")

    def __call__(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        """The loss value (a 0-d tensor), or the weighted per-sample losses for reduction None.
        On symbolic tensors (inside a traced call()) a graph node with the loss's gradient
        (kerasette/losses/loss_node.py), without sample weights."""
        from ..graph.symbolic import is_symbolic

        if is_symbolic(y_true) or is_symbolic(y_pred):
            from .loss_node import LossNode, check_targets

            check_targets(self.name, y_true)
            if sample_weight is not None:
                raise TypeError(f"Invalid sample_weight: loss '{self.name}' called on symbolic "
                                f"tensors takes none, received {type(sample_weight).__name__}")
            return LossNode(self)([y_true, y_pred])
        if self._defines_call:
            return self._traced()(y_true, y_pred, sample_weight)
        if self.reduction is None or self.reduction == "none":
            y_true, y_pred = _as_tensors(y_true, y_pred)
            y_true = self._check(y_true, y_pred)
            terms, _ = self._terms(y_true, y_pred)
            axis = self._axis(y_pred)
            per_sample = terms if axis is None else terms.mean(axis)
            if sample_weight is None:
                return per_sample
            w = _broadcast_weight(sample_weight, y_pred, axis)
            return per_sample * (w if axis is None or w.dim() == 0 else w.squeeze(axis))
        return self.forward(y_true, y_pred, sample_weight)[0]

    def fused_with(self, activation: str) -> "Loss | None":
        """An equivalent loss taking the *pre-activation* logits when this loss follows
        `activation`, or None. Only the cross-entropies fuse (see their docstrings)."""
        return None

    # ----- serialisation ---------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}


def _as_tensors(y_true, y_pred):
    """Accept array-likes (Keras lets `loss(y_true, y_pred)` take NumPy); tensors pass untouched."""
    if not isinstance(y_pred, torch.Tensor):
        y_pred = torch.as_tensor(y_pred)
        if not y_pred.is_floating_point():
            y_pred = y_pred.to(config.floatx_dtype())
    if not isinstance(y_true, torch.Tensor):
        y_true = torch.as_tensor(y_true, device=y_pred.device)
    return y_true, y_pred


def _broadcast_weight(sample_weight, y_pred: torch.Tensor, axis: int | None) -> torch.Tensor:
    """Sample weights reshaped to broadcast against `terms`.

    Accepted: a scalar; shape (N,) or (N, 1); or the loss shape (y_pred.shape without `axis`).
    """
    w = sample_weight
    if not isinstance(w, torch.Tensor):
        w = torch.as_tensor(w, device=y_pred.device)
    if w.dtype != y_pred.dtype:
        w = w.to(y_pred.dtype)
    if w.dim() == 0:
        return w
    n = y_pred.shape[0]
    per_sample = w.shape == (n,) or w.shape == (n, 1)
    if axis is None:
        if per_sample:
            return w.reshape(n)
    else:
        if w.shape == y_pred.shape[:axis] + y_pred.shape[axis + 1:]:
            return w.unsqueeze(axis)
        if per_sample:
            return w.reshape((n,) + (1,) * (y_pred.dim() - 1))
    raise ValueError(f"Invalid sample_weight: expected a scalar or a tensor of shape ({n},), "
                     f"({n}, 1) or the per-sample loss shape for y_pred of shape "
                     f"{tuple(y_pred.shape)}, received shape {tuple(w.shape)}")


def same_shape_targets(loss: Loss, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """y_true of y_pred's shape and dtype. As Keras, (N,) and (N, 1) are interchangeable (one
    trailing axis of size 1 may be added or dropped); anything else that differs is an error, never
    a silent (N,) x (N, 1) -> (N, N) broadcast."""
    if y_true.shape != y_pred.shape:
        ts, ps = y_true.shape, y_pred.shape
        if not ((len(ts) == len(ps) + 1 and ts[-1] == 1 and ts[:-1] == ps)
                or (len(ps) == len(ts) + 1 and ps[-1] == 1 and ps[:-1] == ts)):
            raise ValueError(f"Loss '{loss.name}': y_true and y_pred have incompatible shapes: "
                             f"expected y_true of shape {tuple(ps)} (the shape of y_pred), "
                             f"received {tuple(ts)}")
        y_true = y_true.reshape(ps)
    if y_true.dtype != y_pred.dtype:
        y_true = y_true.to(y_pred.dtype)
    return y_true


def check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"Invalid {name}: expected True or False, received {value!r}")
    return value


def check_axis(value) -> int:
    """An int axis (not a bool), or a TypeError naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Invalid axis: expected an int, received {value!r}")
    return value


def non_batch_axis(loss, y_pred, what: str = "axis") -> int:
    """`loss.axis` as an index of y_pred's axes; a ValueError unless y_pred has rank >= 2 and the
    axis is not the batch axis 0 (`what` names the axis in the message)."""
    rank = y_pred.dim()
    axis = loss.axis + rank if loss.axis < 0 else loss.axis
    if not 0 < axis < rank:
        raise ValueError(f"Loss '{loss.name}': expected y_pred of rank >= 2 with the {what} "
                         f"{loss.axis} not the batch axis 0, received shape {tuple(y_pred.shape)}")
    return axis


def check_label_smoothing(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"Invalid label_smoothing: expected a float in [0, 1], received {value!r}")
    return float(value)
