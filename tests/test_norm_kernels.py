"""Each fast ATen backward in kerasette.norm_kernels equals its readable twin (and the readable
twins equal torch autograd), over shapes including a single row."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasette import norm_kernels as k

SETTINGS = settings(max_examples=30, deadline=None)
EPS = 1e-3


def data(seed, rows, cols, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
            for shape in ((rows, cols), (rows, cols), (cols,))]


def assert_same(fast, readable, **tol):
    for a, b in zip(fast, readable):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, **tol)


masks = st.tuples(st.just(True), st.booleans(), st.booleans())


@SETTINGS
@given(rows=st.integers(1, 9), cols=st.integers(1, 7), seed=st.integers(0, 2**31 - 1),
       scale=st.booleans(), need=masks)
def test_batch_norm_backward_twins(rows, cols, seed, scale, need):
    x, dy, gamma = data(seed, rows, cols)
    gamma = gamma if scale else None
    var, mean = torch.var_mean(x, 0, correction=0)
    rstd = torch.rsqrt(var + EPS)
    fast = k.batch_norm_backward(dy, x, mean, rstd, gamma, need)
    readable = k.batch_norm_backward_readable(dy, x, mean, rstd, gamma, need)
    assert_same(fast, readable)
    # the readable twin against autograd of F.batch_norm (training: batch statistics)
    if rows > 1:
        leaves = [t.clone().requires_grad_(True) for t in (x, gamma if scale else x[0])]
        y = F.batch_norm(leaves[0], None, None, leaves[1] if scale else None, None, True, 0.0, EPS)
        dx, dgamma = torch.autograd.grad(y, leaves, dy, allow_unused=True)
        torch.testing.assert_close(readable[0], dx)
        if scale and need[1]:
            torch.testing.assert_close(readable[1], dgamma)
    if need[2]:
        torch.testing.assert_close(readable[2], dy.sum(0))


@SETTINGS
@given(rows=st.integers(1, 9), cols=st.integers(1, 7), seed=st.integers(0, 2**31 - 1),
       scale=st.booleans(), need=masks)
def test_layer_norm_backward_twins(rows, cols, seed, scale, need):
    x, dy, gamma = data(seed, rows, cols)
    gamma = gamma if scale else None
    var, mean = torch.var_mean(x, 1, keepdim=True, correction=0)
    rstd = torch.rsqrt(var + EPS)
    fast = k.layer_norm_backward(dy, x, mean, rstd, gamma, need)
    readable = k.layer_norm_backward_readable(dy, x, mean, rstd, gamma, need)
    assert_same(fast, readable)
    leaves = [x.clone().requires_grad_(True)] + ([gamma.clone().requires_grad_(True)]
                                                 if scale else [])
    y = F.layer_norm(leaves[0], (cols,), leaves[1] if scale else None, None, EPS)
    grads = torch.autograd.grad(y, leaves, dy)
    torch.testing.assert_close(readable[0], grads[0])
    if scale and need[1]:
        torch.testing.assert_close(readable[1], grads[1])


@pytest.mark.parametrize("which", ["batch", "layer"])
def test_twins_agree_in_float32(which):
    x, dy, gamma = data(0, 64, 16, torch.float32)
    dim = 0 if which == "batch" else 1
    var, mean = torch.var_mean(x, dim, keepdim=dim == 1, correction=0)
    rstd = torch.rsqrt(var + EPS)
    fast_fn = k.batch_norm_backward if which == "batch" else k.layer_norm_backward
    slow_fn = (k.batch_norm_backward_readable if which == "batch"
               else k.layer_norm_backward_readable)
    assert_same(fast_fn(dy, x, mean, rstd, gamma), slow_fn(dy, x, mean, rstd, gamma),
                rtol=1e-4, atol=1e-5)


@SETTINGS
@given(positions=st.integers(1, 20), rows=st.integers(1, 6), width=st.integers(1, 4),
       seed=st.integers(0, 2**31 - 1))
def test_embedding_backward_twins(positions, rows, width, seed):
    g = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, rows, (positions,), generator=g)
    dy = torch.randn(positions, width, generator=g, dtype=torch.float64)
    start = torch.randn(rows, width, generator=g, dtype=torch.float64)  # gradients accumulate
    fast = k.embedding_backward_(start.clone(), dy, indices)
    readable = k.embedding_backward_readable_(start.clone(), dy, indices)
    torch.testing.assert_close(fast, readable)
    torch.testing.assert_close(fast, start + k.embedding_backward_aten(dy, indices, rows))
    W = torch.randn(rows, width, dtype=torch.float64, requires_grad=True)
    (dW,) = torch.autograd.grad(F.embedding(indices, W), W, dy)
    torch.testing.assert_close(fast - start, dW)


@SETTINGS
@given(rows=st.integers(1, 9), cols=st.integers(1, 7), seed=st.integers(0, 2**31 - 1),
       scale=st.booleans(), center=st.booleans())
def test_batch_norm_forward_twins(rows, cols, seed, scale, center):
    x, beta, gamma = data(seed, rows, cols)
    gamma, beta = (gamma if scale else None), (beta[0] if center else None)
    fast = k.batch_norm_forward(x, gamma, beta, EPS)
    readable = k.batch_norm_forward_readable(x, gamma, beta, EPS)
    assert_same(fast, readable)
    assert fast[0].is_contiguous()
    torch.testing.assert_close(fast[2], x.var(0, unbiased=False))          # biased variance
    if rows > 1:
        torch.testing.assert_close(fast[0], F.batch_norm(x, None, None, gamma, beta, True, 0.0,
                                                         EPS))


def test_batch_norm_forward_twins_float32_and_non_contiguous_input():
    x, _, gamma = data(1, 256, 8, torch.float32)
    fast = k.batch_norm_forward(x.t().contiguous().t(), gamma, None, EPS)   # column-major x
    assert_same(fast, k.batch_norm_forward_readable(x, gamma, None, EPS), rtol=1e-4, atol=1e-5)
