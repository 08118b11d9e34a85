"""Backward kernels of the normalisation and embedding layers: a fast ATen op and its readable twin.

Each fast kernel calls the ATen op that PyTorch's own autograd would call (`native_batch_norm_backward`,
`native_layer_norm_backward`) — a plain tensor operation that fuses the reductions and the
elementwise work into one or two passes, with no autograd involved. Right below each one sits its
readable twin, the same math written out with explicit sums; tests hold the two equal.

Normalisation, for one group of K values x_1..x_K normalised together (a channel over the batch for
BatchNormalization, a sample's features for LayerNormalization):

    mean = sum(x) / K      var = sum((x - mean)^2) / K      rstd = 1 / sqrt(var + eps)
    xhat = (x - mean) * rstd                                  y = gamma * xhat + beta

Given dy, with g = dy * gamma (the gradient with respect to xhat), the gradient through the
statistics is

    dx = rstd / K * (K * g - sum(g) - xhat * sum(g * xhat))
    dgamma = sum over every group of dy * xhat                dbeta = sum over every group of dy

Embedding: y[p] = W[i_p] for every position p, so dW[r] = sum of dy[p] over the positions p with
i_p = r (a scatter-add), and rows that were not looked up get nothing.
"""

import torch

_aten = torch.ops.aten


# ---- BatchNormalization (training: batch statistics) ------------------------------------------
def batch_norm_forward(x, gamma, beta, eps):
    """(y, mean, var, rstd) of a training forward on x (M, C): the batch's statistics per channel
    (biased variance), y = gamma * (x - mean) * rstd + beta; gamma, beta: (C,) or None.

    ATen's `native_batch_norm` computes the statistics and y in two fused passes. Its fast CPU path
    wants channels in dim 1 and channels-last memory: the same memory viewed as (1, C, M, 1) is
    exactly that, so no copy is made. It returns rstd; var = 1 / rstd^2 - eps.
    """
    x = x.contiguous()
    M, C = x.shape
    x4 = x.view(1, M, 1, C).permute(0, 3, 1, 2)
    y4, mean, rstd = _aten.native_batch_norm(x4, gamma, beta, None, None, True, 0.0, eps)
    y = y4.permute(0, 2, 3, 1).reshape(M, C)
    return y, mean, rstd.pow(-2).sub_(eps), rstd


def batch_norm_forward_readable(x, gamma, beta, eps):
    """The same from the formulas: two passes over the batch axis 0."""
    M = x.shape[0]
    mean = x.sum(0) / M
    var = ((x - mean) ** 2).sum(0) / M
    rstd = 1 / torch.sqrt(var + eps)
    y = (x - mean) * rstd
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y, mean, var, rstd


def batch_norm_backward(dy, x, mean, rstd, gamma, need=(True, True, True)):
    """(dx, dgamma, dbeta) for y = gamma * (x - mean) * rstd + beta with the batch's statistics.

    x, dy: (M, C), one column per channel (K = M values per channel); mean, rstd: (C,);
    gamma: (C,) or None (scale=False: gamma = 1). `need` says which of the three to compute; the
    others come back None. dgamma and dbeta are new tensors (the caller adds them into .grad).
    """
    need = [bool(n) for n in need]
    if gamma is None:
        need[1] = False
    dx, dgamma, dbeta = _aten.native_batch_norm_backward(
        dy, x, gamma, None, None, mean, rstd, True, 0.0, need)
    return dx, dgamma, dbeta


def batch_norm_backward_readable(dy, x, mean, rstd, gamma, need=(True, True, True)):
    """The same, written from the formulas in the module docstring (sums over the batch axis 0)."""
    M = x.shape[0]
    xhat = (x - mean) * rstd
    dbeta = dy.sum(0)
    dgamma = (dy * xhat).sum(0)
    g = dy if gamma is None else dy * gamma
    sum_g = g.sum(0)
    sum_g_xhat = (g * xhat).sum(0)
    dx = rstd / M * (M * g - sum_g - xhat * sum_g_xhat)
    return (dx if need[0] else None, dgamma if need[1] and gamma is not None else None,
            dbeta if need[2] else None)


# ---- BatchNormalization across ranks (synchronized=True) -------------------------------------
# The same math over the GLOBAL batch, the union of every rank's rows. Each kernel computes per-channel
# sums over its own rows and hands them to `reduce(t)`, which sums t over the ranks in place (one
# small all_reduce; the identity in one process); every rank then finishes with the same global
# sums. With M_r values per channel on rank r and M = sum_r M_r:
#
#   forward                                        backward (dy on this rank's rows)
#   M, S = reduce([M_r, sum_rank(x)])              S_dy  = reduce(sum_rank(dy))
#   mean = S / M                                   S_dyx = reduce(sum_rank(dy * xhat))
#   Q = reduce(sum_rank((x - mean)^2))             dx = gamma * rstd * (dy - S_dy / M - xhat * S_dyx / M)
#   var = Q / M    rstd = 1 / sqrt(var + eps)      dgamma = sum_rank(dy * xhat)   dbeta = sum_rank(dy)
#   xhat = (x - mean) * rstd
#   y = gamma * xhat + beta
#
# Two passes (the mean first, then the centred squares) keep the variance as exact and stable as in
# one process. dgamma and dbeta stay this rank's part: the step's gradient all-reduce sums them.
# The dx line is the single-process formula dx = rstd / M * (M g - sum(g) - xhat sum(g xhat)) with
# g = gamma * dy and the sums taken over the global batch. A rank with no rows sends zeros.
def synced_batch_norm_forward(x, gamma, beta, eps, reduce):
    """(y, mean, var, rstd, M) for x (M_r, C) of this rank, with the global batch's statistics.

    M is a 0-d tensor (the global number of values per channel), kept on the device.
    """
    C = x.shape[1]
    head = torch.empty(C + 1, dtype=x.dtype, device=x.device)
    head[0] = x.shape[0]
    torch.sum(x, 0, out=head[1:])
    reduce(head)
    M = head[0]
    mean = head[1:] / M
    centred = x - mean
    squares = (centred * centred).sum(0)
    reduce(squares)
    var = squares / M
    rstd = torch.rsqrt(var + eps)
    y = centred.mul_(rstd)
    if gamma is not None:
        y = y.mul_(gamma)
    if beta is not None:
        y = y.add_(beta)
    return y, mean, var, rstd, M


def synced_batch_norm_backward(dy, x, mean, rstd, M, gamma, reduce, need=(True, True, True)):
    """(dx, dgamma, dbeta) of `synced_batch_norm_forward` on this rank's rows: dx with the global
    sums of dy and dy * xhat (one reduce of 2C numbers), dgamma and dbeta this rank's own sums."""
    C = x.shape[1]
    xhat = (x - mean) * rstd
    sums = torch.empty(2 * C, dtype=dy.dtype, device=dy.device)
    torch.sum(dy, 0, out=sums[:C])
    torch.sum(dy * xhat, 0, out=sums[C:])
    dbeta = sums[:C].clone() if need[2] else None
    dgamma = sums[C:].clone() if need[1] and gamma is not None else None
    reduce(sums)
    scale = rstd if gamma is None else gamma * rstd
    dx = (dy - sums[:C] / M - xhat * (sums[C:] / M)) * scale
    return dx, dgamma, dbeta


# ---- LayerNormalization ---------------------------------------------------------------------
def layer_norm_backward(dy, x, mean, rstd, gamma, need=(True, True, True)):
    """(dx, dgamma, dbeta) for y = gamma * (x - mean) * rstd + beta, statistics per row.

    x, dy: (M, K), one row per normalised group; mean, rstd: (M, 1); gamma: (K,) or None.
    """
    need = [bool(n) for n in need]
    if gamma is None:
        need[1] = False
    # The op only uses `bias` to know whether dbeta is wanted: any (K,) tensor will do.
    bias = x.new_empty(x.shape[1:]) if need[2] else None
    dx, dgamma, dbeta = _aten.native_layer_norm_backward(
        dy, x, [x.shape[1]], mean, rstd, gamma, bias, need)
    return dx, dgamma, dbeta


def layer_norm_backward_readable(dy, x, mean, rstd, gamma, need=(True, True, True)):
    """The same, written from the formulas (sums over the features of each row, axis 1)."""
    K = x.shape[1]
    xhat = (x - mean) * rstd
    dbeta = dy.sum(0)
    dgamma = (dy * xhat).sum(0)
    g = dy if gamma is None else dy * gamma
    sum_g = g.sum(1, keepdim=True)
    sum_g_xhat = (g * xhat).sum(1, keepdim=True)
    dx = rstd / K * (K * g - sum_g - xhat * sum_g_xhat)
    return (dx if need[0] else None, dgamma if need[1] and gamma is not None else None,
            dbeta if need[2] else None)


# ---- Embedding ------------------------------------------------------------------------------
def embedding_backward_(dW, dy, indices):
    """dW[r] += sum of dy[p] over positions p with indices[p] = r, in place; returns dW.

    dW: (V, D) (the embeddings' .grad); dy: (P, D); indices: (P,) int64.
    One `index_add_` straight into the gradient: unlike ATen's `embedding_dense_backward`, which
    returns a new (V, D) tensor to be added afterwards, it touches only the rows looked up.
    """
    return dW.index_add_(0, indices, dy)


def embedding_backward_readable_(dW, dy, indices):
    """The same scatter-add as an explicit loop over the positions (slow; for tests)."""
    for p in range(indices.shape[0]):
        dW[indices[p]] += dy[p]
    return dW


def embedding_backward_aten(dy, indices, num_rows):
    """ATen's dense embedding gradient: a new (num_rows, D) tensor equal to the scatter-add."""
    return _aten.embedding_dense_backward(dy, indices, num_rows, -1, False)
