"""BatchNormalization's training statistics over the real positions of a masked sequence (Keras 3).

For x (R, C) (every position of the batch a row, channels last) and w (R, 1) the Keras mask as 0/1,
Keras computes the statistics per channel over the real rows only, with its fuzz factor
e = `ks.config.epsilon()` (1e-7) in the denominator, and normalises every row with them:

    W = sum(w) + e         mean = sum(w x) / W         var = sum(w (x - mean)^2) / W
    rstd = 1 / sqrt(var + eps)        xhat = (x - mean) rstd        y = gamma xhat + beta

Backward, with g = dy gamma and d = x - mean (sums over all rows: padded rows are normalised too,
so their dy reaches the statistics):

    dvar  = -1/2 rstd^3 sum(g d)
    dmean = -rstd sum(g) + dvar (-2 mean e / W)       (sum(w d) = mean e, not 0, because of e)
    dx    = rstd g + (dmean + 2 dvar d) w / W
    dgamma = sum(dy xhat)        dbeta = sum(dy)
"""

import torch

from . import config


def masked_batch_norm_forward(x, w, gamma, beta, eps):
    """(y, mean, var, rstd, W) for x (R, C), w (R, 1) of 0 / 1; gamma, beta: (C,) or None."""
    W = w.sum() + config.epsilon()
    mean = (w * x).sum(0) / W
    d = x - mean
    var = (w * d * d).sum(0) / W
    rstd = torch.rsqrt(var + eps)
    xhat = d * rstd
    y = xhat if gamma is None else xhat * gamma
    return (y if beta is None else y + beta), mean, var, rstd, W


def masked_batch_norm_backward(dy, x, w, mean, rstd, W, gamma, need=(True, True, True)):
    """(dx, dgamma, dbeta) of `masked_batch_norm_forward` (None where `need` is False)."""
    d = x - mean
    g = dy if gamma is None else dy * gamma
    dvar = -0.5 * rstd ** 3 * (g * d).sum(0)
    dmean = -rstd * g.sum(0) + dvar * (-2.0 * mean * config.epsilon() / W)
    dx = rstd * g + (dmean + 2.0 * dvar * d) * (w / W) if need[0] else None
    dgamma = (dy * d * rstd).sum(0) if need[1] else None
    dbeta = dy.sum(0) if need[2] else None
    return dx, dgamma, dbeta
