"""Convolution and pooling kernels: fast ATen calls, each with a readable twin written from the math.

Every function here works in torch's logical layout: x (N, C, H, W), a convolution weight
(O, C / groups, kh, kw). The layers hand in permuted *views* of Keras's channels_last tensors
(N, H, W, C).permute(0, 3, 1, 2), which torch's CPU kernels take as "channels_last memory format"
without a copy. 1-D layers use these 2-D kernels with H = 1.

Padding here is symmetric, `padding=(ph, pw)` zeros on both sides (the layers add any asymmetric
extra themselves with `pad`). With stride s, dilation d and kernel k, an output position p reads
input rows p*s + t*d - ph for the taps t = 0..k-1:

    y[n, o, p, q] = b[o] + sum_{c, i, j} x_pad[n, g(o)*Cg + c, p*sh + i*dh, q*sw + j*dw] * w[o, c, i, j]

where Cg = C / groups and g(o) is o's group. The fast path is one `aten.convolution` forward and one
`aten.convolution_backward` (the very ops torch's autograd calls, used here as plain tensor
functions). The readable twins loop over the kernel taps (i, j): each tap is one matmul between a
strided window of x_pad and the (O, C) slice w[:, :, i, j]; its backward is the same loop with the
matmul's two adjoints. Tests hold the two equal.
"""

import itertools

import torch

_aten = torch.ops.aten


# ----- padding (asymmetric, and its adjoint) ------------------------------------------------------
def pad(x: torch.Tensor, pads, value: float = 0.0) -> torch.Tensor:
    """Pad the last two axes of x with `value` by pads = ((top, bottom), (left, right)); a negative
    amount crops. Returns x itself when every amount is 0. The adjoint (backward) of a zero or
    constant pad is `pad` with the amounts negated: cropping what was padded and zero-filling what
    was cropped."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return _aten.constant_pad_nd(x, [left, right, top, bottom], value)


def negate(pads):
    return tuple((-a, -b) for a, b in pads)


# ----- convolution ----------------------------------------------------------------------------------
def conv2d(x, w, b, stride, padding, dilation, groups):
    """y = conv(x, w) + b with symmetric zero padding (see module docstring); b may be None."""
    return _aten.convolution(x, w, b, list(stride), list(padding), list(dilation), False, [0, 0],
                             groups)


def conv2d_backward(dy, x, w, stride, padding, dilation, groups, need_dx=True, need_dw=True,
                    need_db=False):
    """(dx, dw, db) of `conv2d` for dL/dy = dy; an entry is None when not asked for.

    dx = the transposed convolution of dy with w (scatter each output back through the taps)
    dw[o, c, i, j] = sum_{n, p, q} dy[n, o, p, q] * x_pad[n, g(o)*Cg + c, p*sh + i*dh, q*sw + j*dw]
    db[o] = sum_{n, p, q} dy[n, o, p, q]
    """
    bias_sizes = [w.shape[0]] if need_db else None
    return _aten.convolution_backward(dy, x, w, bias_sizes, list(stride), list(padding),
                                      list(dilation), False, [0, 0], groups,
                                      [need_dx, need_dw, need_db])


def _taps(w, x_shape, stride, padding, dilation):
    """The readable twins' loop: for each kernel tap (i, j), the index of the strided window of
    x_pad that it multiplies, and the output size (oh, ow)."""
    kh, kw = w.shape[2:]
    h = x_shape[2] + 2 * padding[0]
    wd = x_shape[3] + 2 * padding[1]
    oh = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    for i, j in itertools.product(range(kh), range(kw)):
        r0, c0 = i * dilation[0], j * dilation[1]
        window = (slice(None), slice(None),
                  slice(r0, r0 + (oh - 1) * stride[0] + 1, stride[0]),
                  slice(c0, c0 + (ow - 1) * stride[1] + 1, stride[1]))
        yield i, j, window, (oh, ow)


def _zero_padded(x, padding):
    n, c, h, w = x.shape
    x_pad = x.new_zeros(n, c, h + 2 * padding[0], w + 2 * padding[1])
    x_pad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = x
    return x_pad


def conv2d_readable(x, w, b, stride, padding, dilation, groups):
    """`conv2d` as a sum over kernel taps: y[:, group] += window_ij(x_pad)[:, group] . w[group, :, i, j]."""
    x_pad = _zero_padded(x, padding)
    n, c = x.shape[:2]
    o = w.shape[0]
    cg, og = c // groups, o // groups
    y = None
    for i, j, window, (oh, ow) in _taps(w, x.shape, stride, padding, dilation):
        if y is None:
            y = x.new_zeros(n, o, oh, ow)
        xs = x_pad[window]                                          # (N, C, oh, ow)
        for g in range(groups):
            cs, os_ = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
            y[:, os_] += torch.einsum("nchw,oc->nohw", xs[:, cs], w[os_, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv2d_backward_readable(dy, x, w, stride, padding, dilation, groups):
    """(dx, dw, db) of `conv2d_readable`, tap by tap: each tap's matmul has the two adjoints
    dwindow += dy . w_ij  and  dw_ij += window^T . dy, summed over n, p, q."""
    x_pad = _zero_padded(x, padding)
    dx_pad = torch.zeros_like(x_pad)
    dw = torch.zeros_like(w)
    c, o = x.shape[1], w.shape[0]
    cg, og = c // groups, o // groups
    for i, j, window, _ in _taps(w, x.shape, stride, padding, dilation):
        xs = x_pad[window]
        for g in range(groups):
            cs, os_ = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
            dw[os_, :, i, j] += torch.einsum("nohw,nchw->oc", dy[:, os_], xs[:, cs])
            dx_pad[window][:, cs] += torch.einsum("nohw,oc->nchw", dy[:, os_], w[os_, :, i, j])
    h, wd = x.shape[2:]
    dx = dx_pad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd]
    return dx, dw, dy.sum((0, 2, 3))


# ----- transposed convolution ---------------------------------------------------------------------
# conv_transpose2d(x, w) is the adjoint of conv2d(., w): with A the linear map u -> conv2d(u, w),
# y = A^T x. So its forward is conv2d's input gradient, and its backward is
#     dx = A dy = conv2d(dy, w)            dw = conv2d's weight gradient with (dy := x, x := dy).
# w has torch's transposed layout (C_in, O / groups, kh, kw), which is conv2d's (O', C'/g, kh, kw)
# for the convolution that maps the output's O channels back to the input's C_in.
def conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    """y (N, O, H', W') with H' = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1; b may be None."""
    return _aten.convolution(x, w, b, list(stride), list(padding), list(dilation), True,
                             list(output_padding), groups)


def conv_transpose2d_backward(dy, x, w, stride, padding, output_padding, dilation, groups,
                              need_dx=True, need_dw=True, need_db=False):
    bias_sizes = [w.shape[1] * groups] if need_db else None
    return _aten.convolution_backward(dy, x, w, bias_sizes, list(stride), list(padding),
                                      list(dilation), True, list(output_padding), groups,
                                      [need_dx, need_dw, need_db])


def _full_crops(padding, output_padding):
    """torch's transposed output is the full one ((H - 1) sh + dh (kh - 1) + 1 rows) with `padding`
    rows cropped on top and `padding - output_padding` on the bottom (negative: zeros added)."""
    return tuple((-p, op - p) for p, op in zip(padding, output_padding))


def conv_transpose2d_readable(x, w, b, stride, padding, output_padding, dilation, groups):
    """y = A^T x: conv2d's input gradient for the full-size input, then cropped to y's size."""
    kh, kw = w.shape[2:]
    full = [(n - 1) * s + d * (k - 1) + 1
            for n, s, d, k in zip(x.shape[2:], stride, dilation, (kh, kw))]
    like = x.new_zeros(x.shape[0], w.shape[1] * groups, *full)
    y_full, _, _ = conv2d_backward_readable(x, like, w, stride, (0, 0), dilation, groups)
    y = pad(y_full, _full_crops(padding, output_padding))
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def conv_transpose2d_backward_readable(dy, x, w, stride, padding, output_padding, dilation,
                                       groups):
    """(dx, dw, db): with dy_full = crop^T(dy), dx = conv2d(dy_full, w), and dw is conv2d's weight
    gradient with the roles swapped (dy := x, x := dy_full)."""
    dy_full = pad(dy, negate(_full_crops(padding, output_padding)))
    dx = conv2d_readable(dy_full, w, None, stride, (0, 0), dilation, groups)
    _, dw, _ = conv2d_backward_readable(x, dy_full, w, stride, (0, 0), dilation, groups)
    return dx, dw, dy.sum((0, 2, 3))


# ----- pooling ----------------------------------------------------------------------------------------
# Both poolings are "valid" here (no padding): the layers pad first ("same": -inf for max, zeros
# for the average, whose divisor then counts only the window's real entries, see `window_counts`).
def window_counts(n: int, k: int, s: int, before: int, out: int) -> list:
    """How many real (not padding) entries each of the `out` windows along one axis covers, for an
    axis of n entries padded with `before` zeros in front: window p spans [p s - before, +k)."""
    return [min(p * s - before + k, n) - max(p * s - before, 0) for p in range(out)]


def max_pool2d(x, pool, stride):
    """(y, argmax): y[n, c, p, q] = max over the window at (p*sh, q*sw) of size pool."""
    return _aten.max_pool2d_with_indices(x, list(pool), list(stride), [0, 0], [1, 1], False)


def max_pool2d_backward(dy, x, pool, stride, argmax):
    """dx: each dy entry goes to its window's maximum (the first one, in a tie)."""
    return _aten.max_pool2d_with_indices_backward(dy, x, list(pool), list(stride), [0, 0], [1, 1],
                                                  False, argmax)


def _pool_taps(x_shape, pool, stride):
    oh = (x_shape[2] - pool[0]) // stride[0] + 1
    ow = (x_shape[3] - pool[1]) // stride[1] + 1
    for i, j in itertools.product(range(pool[0]), range(pool[1])):
        yield (slice(None), slice(None), slice(i, i + (oh - 1) * stride[0] + 1, stride[0]),
               slice(j, j + (ow - 1) * stride[1] + 1, stride[1]))


def max_pool2d_readable(x, pool, stride):
    """(y, tap): the running maximum over the window's taps, and which tap held it (first wins)."""
    y = tap = None
    for t, window in enumerate(_pool_taps(x.shape, pool, stride)):
        xs = x[window]
        if y is None:
            y, tap = xs.clone(), torch.zeros(xs.shape, dtype=torch.long, device=x.device)
            continue
        better = xs > y
        y = torch.where(better, xs, y)
        tap = torch.where(better, t, tap)
    return y, tap


def max_pool2d_backward_readable(dy, x, pool, stride, tap):
    """dx: each window's tap that held the maximum receives dy (windows may overlap: they add)."""
    dx = torch.zeros_like(x)
    for t, window in enumerate(_pool_taps(x.shape, pool, stride)):
        dx[window] += dy * (tap == t)
    return dx


def avg_pool2d(x, pool, stride):
    """y = the mean of each (valid) window: sum / (ph * pw)."""
    return _aten.avg_pool2d(x, list(pool), list(stride), [0, 0], False, True, None)


def avg_pool2d_backward(dy, x, pool, stride):
    """dx: each dy entry spread evenly, dy / (ph * pw), over its window."""
    return _aten.avg_pool2d_backward(dy, x, list(pool), list(stride), [0, 0], False, True, None)


def avg_pool2d_readable(x, pool, stride):
    return sum(x[window] for window in _pool_taps(x.shape, pool, stride)) / (pool[0] * pool[1])


def avg_pool2d_backward_readable(dy, x, pool, stride):
    dx = torch.zeros_like(x)
    share = dy / (pool[0] * pool[1])
    for window in _pool_taps(x.shape, pool, stride):
        dx[window] += share
    return dx
