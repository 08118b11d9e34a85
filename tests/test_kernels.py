"""The fused activation kernels equal their readable twins (and the math) on every dtype we train in."""

import pytest
import torch

from kerasette import kernels

CASES = [
    (kernels.relu_backward, kernels.relu_backward_readable, torch.relu),
    (kernels.tanh_backward, kernels.tanh_backward_readable, torch.tanh),
    (kernels.sigmoid_backward, kernels.sigmoid_backward_readable, torch.sigmoid),
]


@pytest.mark.parametrize("fast, readable, fn", CASES, ids=["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(1, 1), (10, 25), (3, 4, 5)])
def test_fused_kernel_equals_its_readable_twin(fast, readable, fn, dtype, shape):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g, dtype=dtype) * 3
    x.view(-1)[0] = 0.0  # relu's kink: derivative taken as 0
    y, dy = fn(x), torch.randn(shape, generator=g, dtype=dtype)
    torch.testing.assert_close(fast(dy, y), readable(dy, y), rtol=0, atol=4 * torch.finfo(dtype).eps)


@pytest.mark.parametrize("fast, readable, fn", CASES, ids=["relu", "tanh", "sigmoid"])
def test_fused_kernel_is_the_derivative(fast, readable, fn):
    x = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(7, 5, dtype=torch.float64)
    (fn(x) * dy).sum().backward()  # autograd as the oracle (tests only)
    torch.testing.assert_close(fast(dy, fn(x).detach()), x.grad)
