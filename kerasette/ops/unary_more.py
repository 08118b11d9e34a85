"""More elementwise ops with their derivatives beside them, added to `UNARY` (elementwise_layers.py),
so `UnaryOp` runs them as graph nodes (`ks.ops.rsqrt(x)`, `ks.ops.silu(x)` on symbolic tensors):

    reciprocal:  y = 1 / x                dx = -dy y^2
    rsqrt:       y = x^(-1/2)             dx = -dy y^3 / 2
    log1p:       y = ln(1 + x)            dx = dy / (1 + x)
    expm1:       y = e^x - 1              dx = dy (y + 1)
    sin, cos:    y = sin x, cos x         dx = dy cos x, -dy sin x
    arctan:      y = atan x               dx = dy / (1 + x^2)
    erf:         y = erf x                dx = dy 2 / sqrt(pi) e^(-x^2)
    sign:        y = sign x               dx = 0 (as autograd)
    stop_gradient: y = x                  dx = 0 (nothing flows back through it)
    silu:        y = x s, s = sigmoid(x)  dx = dy (s + y (1 - s))
    selu:        y = scale (x if x > 0 else alpha (e^x - 1))   dx = dy scale (1 or alpha e^x)
    relu6:       y = min(max(x, 0), 6)    dx = dy where 0 < x < 6
    hard_sigmoid: y = clip(x / 6 + 1/2, 0, 1)   dx = dy / 6 where -3 < x < 3 (Keras 3)
    softsign:    y = x / (1 + |x|)        dx = dy / (1 + |x|)^2
    gelu_tanh:   y = x (1 + t) / 2, t = tanh(c (x + 0.044715 x^3)), c = sqrt(2 / pi)
                 dx = dy ((1 + t) / 2 + x (1 - t^2) c (1 + 3 * 0.044715 x^2) / 2)
"""

import math

import torch

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_GELU_C = math.sqrt(2.0 / math.pi)


def _reciprocal(x):
    y = torch.reciprocal(x)
    return y, lambda dy: -dy * y * y


def _rsqrt(x):
    y = torch.rsqrt(x)
    return y, lambda dy: -0.5 * dy * y * y * y


def _log1p(x):
    return torch.log1p(x), lambda dy: dy / (1 + x)


def _expm1(x):
    y = torch.expm1(x)
    return y, lambda dy: dy * (y + 1)


def _sin(x):
    return torch.sin(x), lambda dy: dy * torch.cos(x)


def _cos(x):
    return torch.cos(x), lambda dy: -dy * torch.sin(x)


def _arctan(x):
    return torch.atan(x), lambda dy: dy / (1 + x * x)


def _erf(x):
    return torch.erf(x), lambda dy: dy * (2.0 / math.sqrt(math.pi)) * torch.exp(-x * x)


def _sign(x):
    return torch.sign(x), torch.zeros_like


def _stop_gradient(x):
    return x, torch.zeros_like


def _silu(x):
    s = torch.sigmoid(x)
    y = x * s
    return y, lambda dy: dy * (s + y * (1 - s))


def _selu(x):
    neg = _SELU_ALPHA * torch.expm1(torch.clamp(x, max=0))
    y = _SELU_SCALE * torch.where(x > 0, x, neg)
    return y, lambda dy: dy * _SELU_SCALE * torch.where(x > 0, torch.ones_like(x),
                                                        neg + _SELU_ALPHA)


def _relu6(x):
    inside = (x > 0) & (x < 6)
    return torch.clamp(x, 0, 6), lambda dy: dy * inside


def _hard_sigmoid(x):
    inside = (x > -3) & (x < 3)
    return torch.clamp(x / 6 + 0.5, 0, 1), lambda dy: dy * inside / 6


def _softsign(x):
    d = 1 + x.abs()
    return x / d, lambda dy: dy / (d * d)


def _gelu_tanh(x):
    inner = _GELU_C * (x + 0.044715 * x ** 3)
    t = torch.tanh(inner)
    y = 0.5 * x * (1 + t)

    def backward(dy):
        return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x))
    return y, backward


MORE_UNARY = {"reciprocal": _reciprocal, "rsqrt": _rsqrt, "log1p": _log1p, "expm1": _expm1,
              "sin": _sin, "cos": _cos, "arctan": _arctan, "erf": _erf, "sign": _sign,
              "stop_gradient": _stop_gradient, "silu": _silu, "selu": _selu, "relu6": _relu6,
              "hard_sigmoid": _hard_sigmoid, "softsign": _softsign, "gelu_tanh": _gelu_tanh}
