"""LAMB: Adam's step rescaled per weight by a trust ratio ||w|| / ||step||. Keras 3.16's rule.

For step t = iterations + 1 (1-based), for each weight w (a whole kernel or bias):

    m <- m + (1 - beta_1) * (g - m)                ("momentum" slot, starts at 0)
    v <- v + (1 - beta_2) * (g^2 - v)              ("velocity" slot, starts at 0)
    u = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon)
    r = ||w|| / ||u|| if both norms are > 0, else 1
    w <- w - lr * r * u

The norms are per weight, so the flat step takes them as one `_foreach_norm` over per-weight views
of the parameters and of the step (as per-weight clipping does) and rescales with one
`_foreach_mul_`. Keras's epsilon sits outside the square root of the bias-corrected v (unlike its
Adam). PyTorch has no LAMB. Weight decay is decoupled and applied first, so ||w|| is taken after
it (Keras's order).
"""

import torch

from . import clipping
from .arguments import check_number
from .base import Optimizer


class Lamb(Optimizer):
    """LAMB (You et al., 2020, "Large Batch Optimization for Deep Learning")."""

    _default_name = "lamb"
    _tensor_constants = ("epsilon",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)

    def _slot_inits(self) -> dict:
        return {"momentum": 0.0, "velocity": 0.0}

    def _needs_scratch(self) -> int:
        return 1

    def _refresh_views(self) -> None:
        super()._refresh_views()
        slices = list(self.buffer.slices())
        self._param_views = [self._params[a:b] for _, a, b in slices]
        self._step_views = [self._scratch[a:b] for _, a, b in slices]

    def _corrections(self):
        """(1 / (1 - beta_1^t), 1 / (1 - beta_2^t))."""
        t = self.iterations + 1
        return 1.0 / (1.0 - self.beta_1 ** t), 1.0 / (1.0 - self.beta_2 ** t)

    @staticmethod
    def _trust_ratio(w_norm, u_norm):
        """||w|| / ||u|| where both are > 0, else 1 (tensors: no device synchronisation)."""
        both = (w_norm > 0) & (u_norm > 0)
        return torch.where(both, w_norm / torch.where(both, u_norm, 1.0), 1.0)

    def _update_flat(self, params, grads, lr):
        s, u = self._slots, self._scratch
        m, v = s["momentum"], s["velocity"]
        c1, c2 = self._corrections()
        m.lerp_(grads, 1 - self.beta_1)
        v.lerp_(torch.mul(grads, grads, out=u), 1 - self.beta_2)
        torch.mul(v, c2, out=u).sqrt_().add_(self._c["epsilon"])
        torch.div(m, u, out=u).mul_(c1)
        if clipping._foreach_norm is None or not clipping._FOREACH_MUL:  # older torch: a loop
            for w_view, u_view in zip(self._param_views, self._step_views):
                u_view.mul_(self._trust_ratio(torch.linalg.vector_norm(w_view),
                                              torch.linalg.vector_norm(u_view)))
        else:
            ratios = self._trust_ratio(torch.stack(clipping._foreach_norm(self._param_views)),
                                       torch.stack(clipping._foreach_norm(self._step_views)))
            torch._foreach_mul_(self._step_views, ratios.unbind(0))
        params.add_(u, alpha=-lr)

    def _update_weight(self, w, dw, slots, lr):
        m, v = slots["momentum"], slots["velocity"]
        c1, c2 = self._corrections()
        m.lerp_(dw, 1 - self.beta_1)                            # m <- m + (1 - b1)(dw - m)
        v.lerp_(dw * dw, 1 - self.beta_2)                       # v <- v + (1 - b2)(dw^2 - v)
        denom = (v * c2).sqrt_().add_(self.epsilon)             # sqrt(v_hat) + eps
        u = (m / denom).mul_(c1)                                # u = m_hat / (sqrt(v_hat) + eps)
        u.mul_(self._trust_ratio(torch.linalg.vector_norm(w), torch.linalg.vector_norm(u)))
        w.add_(u, alpha=-lr)                                    # w <- w - lr r u

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
