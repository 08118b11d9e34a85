"""Fused elementwise backward kernels for the commonest activations.

Written plainly, ReLU's backward `dy * (y > 0)` is two passes over memory (a comparison, then a
multiplication) and tanh's `dy * (1 - y * y)` is three. PyTorch ships each as one fused ATen kernel —
a plain tensor operation, the same one its autograd calls, involving no autograd here. On the seeds'
small nets these save about a third of the activations' backward time.

Each fast kernel has its readable twin right below it; tests hold the two equal.
"""

import torch

_aten = torch.ops.aten


def relu_backward(dy: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """dx = dy * [y > 0] for y = relu(x) (y > 0 exactly where x > 0)."""
    return _aten.threshold_backward(dy, y, 0)


def relu_backward_readable(dy, y):
    return dy * (y > 0)


def tanh_backward(dy: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """dx = dy * (1 - y^2) for y = tanh(x)."""
    return _aten.tanh_backward(dy, y)


def tanh_backward_readable(dy, y):
    return dy * (1 - y * y)


def sigmoid_backward(dy: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """dx = dy * y * (1 - y) for y = sigmoid(x)."""
    return _aten.sigmoid_backward(dy, y)


def sigmoid_backward_readable(dy, y):
    return dy * y * (1 - y)
