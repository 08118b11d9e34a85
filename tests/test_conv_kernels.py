"""conv_kernels: every fast ATen kernel equals its readable twin (written from the math), and both
equal torch autograd on torch.nn.functional's op, over Hypothesis shapes, strides, paddings,
dilations and groups, in float64 (and float32 for the fast path the layers train with)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasette import conv_kernels as ck

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)


def randn(g, *shape, dtype=torch.float64):
    return torch.randn(shape, generator=g, dtype=dtype)


@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c = groups * draw(st.integers(1, 2))
    o = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dilated = draw(st.booleans())
    stride = (1, 1) if dilated else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    # input at least as large as the dilated kernel after padding (kernel as large as the input too)
    h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]) + draw(st.integers(0, 3))
    w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]) + draw(st.integers(0, 3))
    return dict(n=draw(st.integers(1, 3)), c=c, o=o, h=h, w=w, k=(kh, kw), stride=stride,
                padding=padding, dilation=dilation, groups=groups, seed=draw(st.integers(0, 999)),
                channels_last=draw(st.booleans()))


def make(case):
    g = torch.Generator().manual_seed(case["seed"])
    x = randn(g, case["n"], case["c"], case["h"], case["w"])
    if case["channels_last"]:  # what the layers pass: a permuted view of (N, H, W, C)
        x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    w = randn(g, case["o"], case["c"] // case["groups"], *case["k"])
    b = randn(g, case["o"])
    return g, x, w, b


@SETTINGS
@given(case=conv_cases())
def test_conv2d_fast_equals_readable_equals_autograd(case):
    g, x, w, b = make(case)
    args = (case["stride"], case["padding"], case["dilation"], case["groups"])
    y = ck.conv2d(x, w, b, *args)
    torch.testing.assert_close(y, ck.conv2d_readable(x, w, b, *args))
    dy = randn(g, *y.shape)
    dx, dw, db = ck.conv2d_backward(dy, x, w, *args, need_db=True)
    rx, rw, rb = ck.conv2d_backward_readable(dy, x, w, *args)
    for fast, readable in ((dx, rx), (dw, rw), (db, rb)):
        torch.testing.assert_close(fast, readable)
    # the oracle: F.conv2d differentiated by autograd (tests only)
    xa, wa, ba = (t.clone().requires_grad_(True) for t in (x, w, b))
    ya = F.conv2d(xa, wa, ba, case["stride"], case["padding"], case["dilation"], case["groups"])
    ya.backward(dy)
    torch.testing.assert_close(y, ya.detach())
    for fast, oracle in ((dx, xa.grad), (dw, wa.grad), (db, ba.grad)):
        torch.testing.assert_close(fast, oracle)


@SETTINGS
@given(case=conv_cases(), extra=st.integers(0, 2))
def test_conv_transpose2d_fast_equals_readable_equals_autograd(case, extra):
    g = torch.Generator().manual_seed(case["seed"])
    # the transposed kernel's weight is (C_in, O / groups, kh, kw); x has C_in = case["o"] channels
    w = randn(g, case["o"], case["c"] // case["groups"], *case["k"])
    x = randn(g, case["n"], case["o"], 1 + extra, case["w"] % 3 + 1)
    output_padding = tuple(min(extra, max(s, d) - 1)
                           for s, d in zip(case["stride"], case["dilation"]))
    # torch needs padding <= dilation (k - 1) and an output of at least one row
    padding = tuple(min(p, d * (k - 1), ((n - 1) * s + d * (k - 1) + op) // 2)
                    for p, d, k, n, s, op in zip(case["padding"], case["dilation"], case["k"],
                                                x.shape[2:], case["stride"], output_padding))
    args = (case["stride"], padding, output_padding, case["dilation"], case["groups"])
    bias = randn(g, case["c"])  # one per output channel: (O / groups) * groups
    y = ck.conv_transpose2d(x, w, bias, *args)
    torch.testing.assert_close(y, ck.conv_transpose2d_readable(x, w, bias, *args))
    dy = randn(g, *y.shape)
    dx, dw, db = ck.conv_transpose2d_backward(dy, x, w, *args, need_db=True)
    rx, rw, rb = ck.conv_transpose2d_backward_readable(dy, x, w, *args)
    for fast, readable in ((dx, rx), (dw, rw), (db, rb)):
        torch.testing.assert_close(fast, readable)
    xa, wa, ba = (t.clone().requires_grad_(True) for t in (x, w, bias))
    ya = F.conv_transpose2d(xa, wa, ba, case["stride"], padding, output_padding, case["groups"],
                            case["dilation"])
    ya.backward(dy)
    torch.testing.assert_close(y, ya.detach())
    for fast, oracle in ((dx, xa.grad), (dw, wa.grad), (db, ba.grad)):
        torch.testing.assert_close(fast, oracle)


@st.composite
def pool_cases(draw):
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return dict(n=draw(st.integers(1, 2)), c=draw(st.integers(1, 3)),
                h=ph + draw(st.integers(0, 4)), w=pw + draw(st.integers(0, 4)), pool=(ph, pw),
                stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                seed=draw(st.integers(0, 999)), channels_last=draw(st.booleans()))


def distinct(g, shape, channels_last):
    """Values without ties (a random permutation), so every window has one maximum."""
    n = 1
    for s in shape:
        n *= s
    x = torch.randperm(n, generator=g).to(torch.float64).view(shape) / n
    return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) if channels_last else x


@SETTINGS
@given(case=pool_cases())
def test_max_pool2d_fast_equals_readable_equals_autograd(case):
    g = torch.Generator().manual_seed(case["seed"])
    x = distinct(g, (case["n"], case["c"], case["h"], case["w"]), case["channels_last"])
    y, argmax = ck.max_pool2d(x, case["pool"], case["stride"])
    ry, tap = ck.max_pool2d_readable(x, case["pool"], case["stride"])
    torch.testing.assert_close(y, ry)
    dy = randn(g, *y.shape)
    dx = ck.max_pool2d_backward(dy, x, case["pool"], case["stride"], argmax)
    torch.testing.assert_close(dx, ck.max_pool2d_backward_readable(dy, x, case["pool"],
                                                                   case["stride"], tap))
    xa = x.clone().requires_grad_(True)
    F.max_pool2d(xa, case["pool"], case["stride"]).backward(dy)
    torch.testing.assert_close(dx, xa.grad)


@SETTINGS
@given(case=pool_cases())
def test_avg_pool2d_fast_equals_readable_equals_autograd(case):
    g = torch.Generator().manual_seed(case["seed"])
    x = randn(g, case["n"], case["c"], case["h"], case["w"])
    y = ck.avg_pool2d(x, case["pool"], case["stride"])
    torch.testing.assert_close(y, ck.avg_pool2d_readable(x, case["pool"], case["stride"]))
    dy = randn(g, *y.shape)
    dx = ck.avg_pool2d_backward(dy, x, case["pool"], case["stride"])
    torch.testing.assert_close(dx, ck.avg_pool2d_backward_readable(dy, x, case["pool"],
                                                                   case["stride"]))
    xa = x.clone().requires_grad_(True)
    F.avg_pool2d(xa, case["pool"], case["stride"]).backward(dy)
    torch.testing.assert_close(dx, xa.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fast_kernels_in_the_training_dtype(dtype):
    g = torch.Generator().manual_seed(0)
    x = randn(g, 4, 8, 8, 3, dtype=dtype).permute(0, 3, 1, 2)
    w = randn(g, 5, 3, 3, 3, dtype=dtype)
    args = ((1, 1), (1, 1), (1, 1), 1)
    y = ck.conv2d(x, w, None, *args)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else {}
    torch.testing.assert_close(y, ck.conv2d_readable(x, w, None, *args), **tol)
    dy = randn(g, *y.shape, dtype=dtype)
    fast = ck.conv2d_backward(dy, x, w, *args)[:2]
    readable = ck.conv2d_backward_readable(dy, x, w, *args)[:2]
    for a, b in zip(fast, readable):
        torch.testing.assert_close(a, b, **tol)


def test_pad_and_its_adjoint():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    y = ck.pad(x, ((1, 0), (0, 2)))
    assert y.shape == (1, 1, 4, 6) and y[0, 0, 0].abs().sum() == 0 and y[0, 0, 1:, 4:].sum() == 0
    torch.testing.assert_close(ck.pad(y, ck.negate(((1, 0), (0, 2)))), x)
    assert ck.pad(x, ((0, 0), (0, 0))) is x
    # <pad(x), d> == <x, pad^T(d)>: the negated pad is the adjoint
    d = torch.randn(1, 1, 4, 6, dtype=torch.float64)
    xd = x.double()
    torch.testing.assert_close((ck.pad(xd, ((1, 0), (0, 2))) * d).sum(),
                               (xd * ck.pad(d, ((-1, 0), (0, -2)))).sum())


def test_window_counts():
    # 5 entries, window 2, stride 2, "same": out 3, total pad 1 -> (0, 1): the last window is short
    assert ck.window_counts(5, 2, 2, 0, 3) == [2, 2, 1]
    # 4 entries, window 3, stride 1, pad (1, 1): the edge windows see 2 real entries
    assert ck.window_counts(4, 3, 1, 1, 4) == [2, 3, 3, 2]
