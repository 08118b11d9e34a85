"""Recurrent layers: `SimpleRNN`, `LSTM`, `GRU` (Keras 3 names, arguments, weight layouts and gate
orders), with backpropagation through time written out.

Input x: (N, T, F); each layer keeps a state h (and LSTM a cell c) of `units` features, zero at
the start. The input's part of every step is one matrix product for all steps at once,

    Z = x W + b                       (N, T, G units), G = 1, 4 (i f c o) or 3 (z r h)

and each step t adds the state's part h_{t-1} U and applies the cell (the classes below, each with
its step's backward beside its forward). The backward walks the steps in reverse, carrying dL/dh
(and dL/dc) to the step before, collecting dZ, and ends with the input's part as matrix products:

    dW = x^T dZ       db = sum dZ       dx = dZ W^T       dU = sum_t h_{t-1}^T dG_t

Outputs, as Keras: the last state h_T, or with `return_sequences=True` every h_t (N, T, units);
`return_state=True` adds the final states ([out, h_T] or, for LSTM, [out, h_T, c_T]).
`go_backwards=True` reads the steps from last to first (and returns them in that order).
Not supported (a ValueError says so): dropout / recurrent_dropout other than 0 (put a Dropout
layer before the recurrent one), stateful, masks, initial states, GRU's reset_after=False.
"""

import torch

from .. import activations
from .. import initializers as inits
from .. import regularizers as regs
from ..constraints import get as get_constraint
from .base import Layer


class _Recurrent(Layer):
    """What the three layers share: arguments, weights, the loop over steps and its backward."""

    gates = 1  # G: how many blocks of `units` columns W and U have

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, seed=None, **kwargs):
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"Invalid units: expected a positive int, received {units!r}")
        for arg, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if value not in (0, 0.0, None):
                raise ValueError(f"Invalid {arg}: kerasette's recurrent layers take 0, received "
                                 f"{value!r}; put a Dropout layer before this one instead")
        if stateful:
            raise ValueError("Invalid stateful: kerasette's recurrent layers start each batch "
                             "from zero states (stateful=False)")
        for arg, value in (("use_bias", use_bias), ("return_sequences", return_sequences),
                           ("return_state", return_state), ("go_backwards", go_backwards)):
            if not isinstance(value, bool):
                raise TypeError(f"Invalid {arg}: expected True or False, received {value!r}")
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = inits.get(kernel_initializer)
        self.recurrent_initializer = inits.get(recurrent_initializer)
        self.bias_initializer = inits.get(bias_initializer)
        self.kernel_regularizer = regs.get(kernel_regularizer)
        self.recurrent_regularizer = regs.get(recurrent_regularizer)
        self.bias_regularizer = regs.get(bias_regularizer)
        self.kernel_constraint = get_constraint(kernel_constraint)
        self.recurrent_constraint = get_constraint(recurrent_constraint)
        self.bias_constraint = get_constraint(bias_constraint)
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards = go_backwards
        self.kernel = self.recurrent_kernel = self.bias = None

    # ----- weights ------------------------------------------------------------------------------
    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"Layer '{self.name}' expects inputs of shape (batch, steps, "
                             f"features), received {tuple(input_shape)}")
        cols = self.gates * self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], cols), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (self.units, cols), self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_init(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _input_bias(self):
        return self.bias.value if self.bias is not None else None

    # ----- the loop -----------------------------------------------------------------------------
    def forward(self, x, training=False):
        n, steps, features = x.shape
        W, U = self.kernel.value, self.recurrent_kernel.value
        b = self._input_bias()
        flat = x.reshape(n * steps, features)
        Z = (torch.addmm(b, flat, W) if b is not None else flat @ W).view(n, steps, -1)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        state = [torch.zeros(n, self.units, dtype=x.dtype, device=x.device)
                 for _ in range(self._state_count())]
        caches, hs = [], []
        for t in order:
            state, cache = self._step(Z[:, t], state, U)
            caches.append(cache)
            hs.append(state[0])
        seq = torch.stack(hs, 1) if self.return_sequences else None
        out = seq if self.return_sequences else state[0]
        outputs = [out, *state] if self.return_state else out

        def backward(dy, need_dx=True):
            douts = list(dy) if self.return_state else [dy]
            d_out, d_states = douts[0], douts[1:]
            dstate = [torch.zeros_like(s) if d is None else d.clone()
                      for s, d in zip(state, d_states or [None] * len(state))]
            if d_out is not None and not self.return_sequences:
                dstate[0] = dstate[0] + d_out
            dZ = torch.zeros_like(Z)
            dU = torch.zeros_like(U)
            dm_sum = None  # GRU: the gradient of the recurrent bias row, summed over steps
            for k in range(len(caches) - 1, -1, -1):
                if d_out is not None and self.return_sequences:
                    dstate[0] = dstate[0] + d_out[:, k]
                dz, dstate, du, dm = self._step_backward(dstate, caches[k], U)
                dU.add_(du)
                dZ[:, order[k]] = dz
                if dm is not None:
                    dm_sum = dm.sum(0) if dm_sum is None else dm_sum.add_(dm.sum(0))
            dZ_flat = dZ.reshape(n * steps, -1)
            if self.kernel.trainable:
                self.kernel.grad.add_(flat.T @ dZ_flat)
            if self.recurrent_kernel.trainable:
                self.recurrent_kernel.grad.add_(dU)
            if self.bias is not None and self.bias.trainable:
                self._add_bias_grad(dZ_flat.sum(0), dm_sum)
            return (dZ_flat @ W.T).view(n, steps, features) if need_dx else None

        return outputs, backward

    skips_input_grad = True  # backward(dy, need_dx=False) skips dx = dZ W^T

    def _add_bias_grad(self, dz_sum, dm_sum):
        self.bias.grad.add_(dz_sum)

    def _state_count(self) -> int:
        return 1

    def compute_output_shape(self, input_shape):
        n, steps = input_shape[0], input_shape[1]
        out = (n, steps, self.units) if self.return_sequences else (n, self.units)
        if not self.return_state:
            return out
        return [out] + [(n, self.units)] * self._state_count()

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": inits.serialize(self.kernel_initializer),
                "recurrent_initializer": inits.serialize(self.recurrent_initializer),
                "bias_initializer": inits.serialize(self.bias_initializer),
                "kernel_regularizer": regs.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regs.serialize(self.recurrent_regularizer),
                "bias_regularizer": regs.serialize(self.bias_regularizer),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards}


class SimpleRNN(_Recurrent):
    """h_t = act(z_t + h_{t-1} U), z_t the step's row of x W + b.  Backward: da = dh act'(a),
    dh_{t-1} = da U^T, dU += h_{t-1}^T da, dz_t = da."""

    def _step(self, z, state, U):
        (h_prev,) = state
        h, act_back = self.activation.forward(z + h_prev @ U)
        return [h], (h_prev, act_back)

    def _step_backward(self, dstate, cache, U):
        h_prev, act_back = cache
        da = act_back(dstate[0])
        return da, [da @ U.T], h_prev.T @ da, None


class LSTM(_Recurrent):
    """Gates from g = z_t + h_{t-1} U, in Keras's column order i, f, c, o:

        i = s(g_i)  f = s(g_f)  o = s(g_o)  cc = act(g_c)   (s: recurrent_activation, sigmoid)
        c_t = f c_{t-1} + i cc          h_t = o act(c_t)

    Backward, from dh and dc (the next step's): do = dh act(c_t); dc += dh o act'(c_t);
    di = dc cc; df = dc c_{t-1}; dcc = dc i; dc_{t-1} = dc f; each gate's dg through its
    activation; dh_{t-1} = dg U^T. `unit_forget_bias` starts the forget gate's bias at 1."""

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        if not isinstance(unit_forget_bias, bool):
            raise TypeError(f"Invalid unit_forget_bias: expected True or False, received "
                            f"{unit_forget_bias!r}")
        self.unit_forget_bias = unit_forget_bias

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units

        def init(shape, dtype=None):  # Keras: [init(u), ones(u), init(2u)]
            values = base(shape, dtype)
            values[u:2 * u] = 1.0
            return values
        return init

    def _state_count(self) -> int:
        return 2

    def _step(self, z, state, U):
        h_prev, c_prev = state
        g = z + h_prev @ U
        u = self.units
        sig = self.recurrent_activation
        i, i_back = sig.forward(g[:, :u])
        f, f_back = sig.forward(g[:, u:2 * u])
        cc, cc_back = self.activation.forward(g[:, 2 * u:3 * u])
        o, o_back = sig.forward(g[:, 3 * u:])
        c = f * c_prev + i * cc
        tc, tc_back = self.activation.forward(c)
        h = o * tc
        return [h, c], (h_prev, c_prev, i, f, cc, o, tc, i_back, f_back, cc_back, o_back, tc_back)

    def _step_backward(self, dstate, cache, U):
        h_prev, c_prev, i, f, cc, o, tc, i_back, f_back, cc_back, o_back, tc_back = cache
        dh, dc = dstate
        dc = dc + tc_back(dh * o)
        dg = torch.cat([i_back(dc * cc), f_back(dc * c_prev), cc_back(dc * i), o_back(dh * tc)],
                       1)
        return dg, [dg @ U.T, dc * f], h_prev.T @ dg, None

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Keras 3's GRU (reset_after=True), columns in the order z, r, h; the bias is two rows,
    b_in (added to x W) and b_rec (added to h U):

        x_t = z_t (the step's row of x W + b_in)      m = h_{t-1} U + b_rec
        z = s(x_z + m_z)   r = s(x_r + m_r)   hh = act(x_h + r m_h)
        h_t = z h_{t-1} + (1 - z) hh

    Backward: dz = dh (h_{t-1} - hh); dhh = dh (1 - z); da_h = dhh act'; dr = da_h m_h;
    dm = [da_z, da_r, da_h r] (da_z, da_r through s); dh_{t-1} = dh z + dm U^T; the input part
    gets [da_z, da_r, da_h]; db_rec = sum dm."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        if reset_after is not True:
            raise ValueError("Invalid reset_after: kerasette's GRU is Keras 3's default form, "
                             "reset_after=True")
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = True

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units)

    def _input_bias(self):
        return self.bias.value[0] if self.bias is not None else None

    def _step(self, z, state, U):
        (h_prev,) = state
        u = self.units
        m = h_prev @ U
        if self.bias is not None:
            m = m + self.bias.value[1]
        sig = self.recurrent_activation
        zg, z_back = sig.forward(z[:, :u] + m[:, :u])
        r, r_back = sig.forward(z[:, u:2 * u] + m[:, u:2 * u])
        hh, hh_back = self.activation.forward(z[:, 2 * u:] + r * m[:, 2 * u:])
        h = zg * h_prev + (1 - zg) * hh
        return [h], (h_prev, m, zg, r, hh, z_back, r_back, hh_back)

    def _step_backward(self, dstate, cache, U):
        h_prev, m, zg, r, hh, z_back, r_back, hh_back = cache
        (dh,) = dstate
        u = self.units
        da_z = z_back(dh * (h_prev - hh))
        da_h = hh_back(dh * (1 - zg))
        da_r = r_back(da_h * m[:, 2 * u:])
        dm = torch.cat([da_z, da_r, da_h * r], 1)
        dz = torch.cat([da_z, da_r, da_h], 1)
        return dz, [dh * zg + dm @ U.T], h_prev.T @ dm, dm

    def _add_bias_grad(self, dz_sum, dm_sum):
        self.bias.grad[0].add_(dz_sum)
        self.bias.grad[1].add_(dm_sum)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": True}
