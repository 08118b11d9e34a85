"""`GRU`: Keras 3's gated recurrent unit, both of its forms (the loop over steps and the shared
arguments are `_Recurrent`'s, recurrent.py)."""

import torch

from .. import activations
from .recurrent import _Recurrent


class GRU(_Recurrent):
    """Keras 3's GRU, columns in the order z, r, h (x_t: the step's row of x W + b_in).

    reset_after=True (Keras 3's default): the bias is two rows, b_in (added to x W) and b_rec
    (added to h U), and the reset gate applies after the recurrent product:

        m = h_{t-1} U + b_rec
        z = s(x_z + m_z)   r = s(x_r + m_r)   hh = act(x_h + r m_h)
        h_t = z h_{t-1} + (1 - z) hh

    Backward: da_z = s'(dh (h_{t-1} - hh)); da_h = act'(dh (1 - z)); da_r = s'(da_h m_h);
    dz_t = [da_z, da_r, da_h]; dm = [da_z, da_r, da_h r]; dh_{t-1} = dh z (+ dm U^T, the loop's);
    db_in = sum dz, db_rec = sum dm.

    reset_after=False (Keras 2's default, for older models): one bias row (in x W + b), and the
    reset gate applies before the product, to the state (h_in: the state fed to U):

        z = s(x_z + h_in U_z)   r = s(x_r + h_in U_r)   hh = act(x_h + (r h_in) U_h)

    Backward: as above for z; d(r h_in) = da_h U_h^T, da_r = s'(d(r h_in) h_in), and the state
    gets d(r h_in) r besides the loop's dm U^T (dm = [da_z, da_r, 0]); dU_h += (r h_in)^T da_h,
    added here step by step. (The loop still computes h_in U_h, unused: a third of the state's
    product is wasted in this form.)"""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        if not isinstance(reset_after, bool):
            raise TypeError(f"Invalid reset_after: expected True or False, received "
                            f"{reset_after!r}")
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _recurrent_bias(self):
        return self.bias.value[1] if self.bias is not None and self.reset_after else None

    def _step(self, z, m, state, h_in):
        h_prev = state[0]
        u = self.units
        sig = self.recurrent_activation
        zg, z_back = sig.forward(z[:, :u] + m[:, :u])
        r, r_back = sig.forward(z[:, u:2 * u] + m[:, u:2 * u])
        if self.reset_after:
            hh, hh_back = self.activation.forward(z[:, 2 * u:] + r * m[:, 2 * u:])
            rh = None
        else:
            rh = r * h_in
            hh, hh_back = self.activation.forward(
                z[:, 2 * u:] + rh @ self.recurrent_kernel.value[:, 2 * u:])
        h = zg * h_prev + (1 - zg) * hh
        return [h], (h_prev, m, zg, r, hh, z_back, r_back, hh_back, h_in, rh)

    def _step_backward(self, dstate, cache):
        h_prev, m, zg, r, hh, z_back, r_back, hh_back, h_in, rh = cache
        (dh,) = dstate
        u = self.units
        da_z = z_back(dh * (h_prev - hh))
        da_h = hh_back(dh * (1 - zg))
        if self.reset_after:
            da_r = r_back(da_h * m[:, 2 * u:])
            return (torch.cat([da_z, da_r, da_h], 1), torch.cat([da_z, da_r, da_h * r], 1),
                    [dh * zg])
        U_h = self.recurrent_kernel.value[:, 2 * u:]
        d_rh = da_h @ U_h.T
        da_r = r_back(d_rh * h_in)
        if self.recurrent_kernel.trainable:
            self.recurrent_kernel.grad[:, 2 * u:].addmm_(rh.T, da_h)  # dU_h += (r h_in)^T da_h
        return (torch.cat([da_z, da_r, da_h], 1),
                torch.cat([da_z, da_r, torch.zeros_like(da_h)], 1), [dh * zg], d_rh * r)

    def _add_bias_grad(self, dz_sum, dm_sum):
        if self.reset_after:
            self.bias.grad[0].add_(dz_sum)
            self.bias.grad[1].add_(dm_sum)
        else:
            self.bias.grad.add_(dz_sum)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}
