"""`BatchNormalization`: normalise each channel with the batch's statistics in training, the moving
statistics in inference (Keras 3.16's arguments, defaults, weight order and formulas; the shared
math is described in `normalization.py`, the backward formulas in `kerasette.norm_kernels`)."""

import numbers

import torch

from .. import initializers as inits
from .. import norm_kernels
from ..distribution import share
from ..masked_norm_kernels import masked_batch_norm_backward, masked_batch_norm_forward
from .normalization_common import _Affine, _channel_axis, _channels_last_2d


class BatchNormalization(_Affine):
    """Normalise each channel (`axis`) with the batch's statistics in training, the moving ones
    in inference.

    Training (`training=True` and the layer trainable), with M = the number of values per channel:

        mean = sum(x) / M      var = sum((x - mean)^2) / M       (biased, as Keras)
        y = gamma * (x - mean) / sqrt(var + epsilon) + beta
        moving_mean     <- momentum * moving_mean     + (1 - momentum) * mean
        moving_variance <- momentum * moving_variance + (1 - momentum) * var     (biased too)

    Inference: y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta, an affine
    map whose backward is dx = dy * gamma / sqrt(moving_variance + epsilon).

    Given a Keras mask (padding from `Embedding(mask_zero=True)` upstream), the training statistics
    are taken over the real positions only, as Keras 3 does (kerasette/masked_norm_kernels.py);
    every position is normalised with them, and the mask passes on.

    A layer with `trainable=False` runs in inference mode even in a training step and leaves its
    moving statistics alone (Keras 3's rule, for fine-tuning a pretrained network).

    Weights, in Keras's order: gamma (C,) if scale, beta (C,) if center, then the non-trainable
    state moving_mean (C,) and moving_variance (C,). The moving statistics change in place, in a
    training forward only, and are saved and restored with the weights.

    synchronized (Keras 3.16: "synchronizes the global batch statistics across all devices at each
    training step in a distributed training strategy"; Keras implements it for TensorFlow only):
    under a data-parallel fit (`kerasette.distribution`), a training step normalises with the
    mean and variance of the GLOBAL batch, the union of every rank's share, instead of the share's
    own. The layer reaches the step's Strategy through `distribution.share.step_strategy()` and
    sums, across ranks, [M_r, sum(x)] and then sum((x - mean)^2) in the forward, and sum(dy) and
    sum(dy * xhat) in the backward (`norm_kernels.synced_batch_norm_forward` / `_backward`:
    the formulas side by side), so y, dx and the moving statistics are exactly those of one process
    training on the global batch, identical on every rank; dgamma and dbeta stay each rank's part
    (the step's gradient all-reduce sums them). In one process, outside a fit's training step, or
    in inference it changes nothing. Unsynchronised (the default, as Keras), each rank normalises
    its share with the share's own statistics: the model then differs from one-process training
    (each rank's moving statistics follow its own rows and differ between ranks; rank 0's are
    the ones saved).

    Args: axis (int, the channel axis, default -1), momentum (0.99), epsilon (1e-3), center, scale,
    beta/gamma/moving_mean/moving_variance initializers, beta/gamma regularizers and constraints,
    synchronized (bool, default False).
    """

    supports_masking = True  # a mask passes through
    uses_mask = True  # with a Keras mask, training statistics over the real positions only

    def _check_mask(self, mask, training):
        if training and mask is not None and self.synchronized:
            raise ValueError(f"BatchNormalization '{self.name}' (synchronized=True) was given a "
                             f"masked input in training: synchronized statistics over the real "
                             f"positions are not supported yet; use synchronized=False")
        if mask is not None and self._axis != len(mask.shape):
            raise ValueError(f"Invalid mask for BatchNormalization '{self.name}': expected one "
                             f"per position of the input without its channel axis (the last), "
                             f"received shape {tuple(mask.shape)}")

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Invalid axis: expected an int, received {axis!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not (
                0 <= momentum <= 1):
            raise ValueError(f"Invalid momentum: expected a float in [0, 1], received "
                             f"{momentum!r}")
        if not isinstance(synchronized, bool):
            raise TypeError(f"Invalid synchronized: expected a bool, received {synchronized!r}")
        mm_init = inits.get(moving_mean_initializer)
        mv_init = inits.get(moving_variance_initializer)
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        self.axis, self.momentum, self.synchronized = int(axis), float(momentum), synchronized
        self.moving_mean_initializer, self.moving_variance_initializer = mm_init, mv_init
        self.moving_mean = self.moving_variance = None

    def build(self, input_shape) -> None:
        axis, channels = _channel_axis(self, input_shape)
        self._axis = axis
        self._add_affine((channels,))
        self.moving_mean = self.add_state("moving_mean", (channels,), self.moving_mean_initializer)
        self.moving_variance = self.add_state("moving_variance", (channels,),
                                              self.moving_variance_initializer)

    def forward(self, x, training=False, mask=None):
        """`(y, backward)`; `mask` (a Keras mask, the input's shape without the channel axis):
        training statistics over the real positions (kerasette/masked_norm_kernels.py)."""
        x2, restore = _channels_last_2d(x, self._axis)
        gamma = None if self.gamma is None else self.gamma.value
        beta = None if self.beta is None else self.beta.value
        batch_stats = bool(training) and self.trainable
        reduce = self._step_reduce() if batch_stats and self.synchronized else None
        w = None
        if batch_stats and mask is not None:
            self._check_mask(mask, training)
            w = mask.reshape(-1, 1).to(x2.dtype)
            y2, mean, var, rstd, W = masked_batch_norm_forward(x2, w, gamma, beta, self.epsilon)
        elif reduce is not None:
            y2, mean, var, rstd, M = norm_kernels.synced_batch_norm_forward(
                x2, gamma, beta, self.epsilon, reduce)
        elif batch_stats:
            y2, mean, var, rstd = norm_kernels.batch_norm_forward(x2, gamma, beta, self.epsilon)
        if batch_stats:
            m = self.momentum
            self.moving_mean.value.mul_(m).add_(mean, alpha=1 - m)
            self.moving_variance.value.mul_(m).add_(var, alpha=1 - m)
        else:  # copies: the closure must not see a later training step's in-place update
            mean = self.moving_mean.value.clone()
            rstd = torch.rsqrt(self.moving_variance.value + self.epsilon)
            scale = rstd if gamma is None else gamma * rstd
            shift = -mean * scale if beta is None else beta - mean * scale
            y2 = torch.addcmul(shift, x2, scale)                # y = x * scale + shift
        y = restore(y2)
        need = self._need()

        def backward(dy):
            dy2, _ = _channels_last_2d(dy, self._axis)
            if w is not None:
                dx2, dgamma, dbeta = masked_batch_norm_backward(dy2, x2, w, mean, rstd, W, gamma,
                                                                need)
            elif reduce is not None:
                dx2, dgamma, dbeta = norm_kernels.synced_batch_norm_backward(
                    dy2, x2, mean, rstd, M, gamma, reduce, need)
            elif batch_stats:
                dx2, dgamma, dbeta = norm_kernels.batch_norm_backward(dy2, x2, mean, rstd, gamma,
                                                                      need)
            else:  # an affine map: dx = dy * scale
                dx2 = dy2 * scale
                dbeta = dy2.sum(0) if need[2] else None
                dgamma = ((dy2 * x2).sum(0) - mean * dy2.sum(0)) * rstd if need[1] else None
            self._add_affine_grads(dgamma, dbeta)
            return restore(dx2)
        return y, backward

    def _step_reduce(self):
        """Sum-over-ranks for this training step, or None (one process, or outside a fit's step)."""
        strategy = share.step_strategy()
        if strategy is None:
            return None
        lo, hi, n = share.current_share()
        if n < strategy.world_size and not share.empty_shares_run():
            raise RuntimeError(
                f"BatchNormalization '{self.name}' (synchronized=True): a global batch of {n} rows "
                f"leaves some of the {strategy.world_size} ranks without rows, and this trainer "
                f"does not run empty shares, so those ranks would miss the layer's all_reduce. Use "
                f"a batch_size and a number of samples whose every batch has at least "
                f"{strategy.world_size} rows (see kerasette.distribution.share)")
        what = f"the batch statistics of BatchNormalization '{self.name}'"
        return lambda t: strategy.all_reduce_sum(t, what)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "moving_mean_initializer": inits.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": inits.serialize(self.moving_variance_initializer),
                "synchronized": self.synchronized}
