"""Recurrent layers: `SimpleRNN`, `LSTM`, `GRU` (Keras 3 names, arguments, weight layouts and gate
orders), with backpropagation through time written out.

Input x: (N, T, F); each layer keeps a state h (and LSTM a cell c) of `units` features, zero at
the start. The input's part of every step is one matrix product for all steps at once,

    Z = x W + b                       (N, T, G units), G = 1, 4 (i f c o) or 3 (z r h)

and each step t computes the state's part m_t = h_{t-1} U and applies the cell (the classes below,
each with its step's backward beside its forward; the loop itself is in recurrent_steps.py). The
backward walks the steps in reverse, carrying dL/dh (and dL/dc) to the step before, collecting dZ
and dM, and ends with matrix products:

    dW = x^T dZ     db = sum dZ     dx = dZ W^T     dU = [h_0 .. h_{T-1}]^T dM     dh += dm U^T

Outputs, as Keras: the last state h_T, or with `return_sequences=True` every h_t (N, T, units);
`return_state=True` adds the final states ([out, h_T] or, for LSTM, [out, h_T, c_T]).
`go_backwards=True` reads the steps from last to first (and returns them in that order).

`dropout` / `recurrent_dropout` (training only, as Keras 3): one mask per batch, the same at every
step, on the inputs (x -> x * keep_x before W) and on the state fed to U (h -> h * keep_h), each
[u >= rate] / (1 - rate) from the layer's own generator (`seed`); the backward multiplies dx and the
state's gradient through U by the same masks. `initial_state=[h0]` (LSTM: `[h0, c0]`) starts from
given states, which then get their gradients (an encoder's final states into a decoder).

Masks (Keras 3's; `forward(x, training, mask=m)`, m (N, T) bool, True = real step, reversed with
the steps by `go_backwards`): at a padded step the states and the output stay as they were,

    state_t = where(m_t, new state, state_{t-1})     output_t = where(m_t, new h, output_{t-1})

with output_{-1} = 0 (not h0: with `initial_state` and leading padding they differ), and the
backward sends a padded step's gradients straight to the step before. `zero_output_for_mask=True`
returns 0 at padded positions instead (the last output: 0 when the last processed step is padded).
The output's mask (`compute_mask`) is the input's when returning sequences (as Keras, not reversed
with `go_backwards`), else None; None for the states.

`stateful=True` starts each batch from the previous batch's final states (the same batch size
every time; `reset_state()` forgets them); gradients stop at the batch boundary, as in Keras. GRU
is in recurrent_gru.py.
"""

import numbers

import torch

from .. import activations
from .. import initializers as inits
from .. import regularizers as regs
from ..constraints import get as get_constraint
from ..random_state import make_generator
from .base import Layer
from .mask_protocol import mask_of
from .recurrent_steps import check_mask, run_masked_steps, run_steps


class _Recurrent(Layer):
    """What the three layers share: arguments, weights, the loop over steps and its backward."""

    gates = 1  # G: how many blocks of `units` columns W and U have
    uses_mask = True  # forward(x, training, mask=...): padded steps keep the states
    supports_masking = True

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, seed=None, zero_output_for_mask=False, **kwargs):
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"Invalid units: expected a positive int, received {units!r}")
        for arg, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                    not 0 <= value < 1:
                raise ValueError(f"Invalid {arg}: expected a float in [0, 1), received {value!r}")
        generator = make_generator(seed)  # validates seed
        if not isinstance(stateful, bool):
            raise TypeError(f"Invalid stateful: expected True or False, received {stateful!r}")
        for arg, value in (("use_bias", use_bias), ("return_sequences", return_sequences),
                           ("return_state", return_state), ("go_backwards", go_backwards),
                           ("zero_output_for_mask", zero_output_for_mask)):
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
        self.zero_output_for_mask = zero_output_for_mask
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.seed, self._generator = seed, generator
        self.stateful = stateful
        self._kept_states = None  # stateful: the last batch's final states (see forward)
        self.kernel = self.recurrent_kernel = self.bias = None

    def __call__(self, x, *args, initial_state=None, training=False, mask=None):
        """`layer(x)`, or with Keras's `initial_state=[h0]` (LSTM: `[h0, c0]`, each
        (batch, units)): the states become inputs of the node, and gradients reach them. `mask`:
        Keras's explicit (batch, steps) mask (kerasette/layers/masking.py)."""
        if mask is not None and initial_state is None:
            return super().__call__(x, *args, training=training, mask=mask)
        if mask is not None:
            from ..graph.symbolic import is_symbolic
            from .masking import SetMaskOp
            if not is_symbolic(x):
                raise TypeError(f"Invalid mask: layer '{self.name}' takes mask= with "
                                f"initial_state on symbolic tensors only")
            x = SetMaskOp()([x, mask])
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else \
                [initial_state]
            if len(states) != self._state_count():
                raise ValueError(f"Invalid initial_state: layer '{self.name}' takes "
                                 f"{self._state_count()} state(s), received {len(states)}")
            x = [x, *states]
        return super().__call__(x, *args, training=training)

    # ----- weights ------------------------------------------------------------------------------
    def build(self, input_shape):
        if isinstance(input_shape, list):  # [sequence, *initial states]
            self._check_state_shapes(input_shape)
            input_shape = input_shape[0]
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

    def _check_state_shapes(self, shapes):
        want = (self.units,)
        for s in shapes[1:]:
            if tuple(s[1:]) != want:
                raise ValueError(f"Invalid initial_state: layer '{self.name}' takes states of "
                                 f"shape (batch, {self.units}), received {tuple(s)}")

    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _input_bias(self):
        return self.bias.value if self.bias is not None else None

    # ----- the loop -----------------------------------------------------------------------------
    def forward(self, x, training=False, mask=None):
        """`mask`: Keras's (N, T) bool mask of the sequence (or one per input, [sequence's,
        states'...], with `initial_state`); None runs the plain loop."""
        mask = mask_of(x, mask)
        given = list(x[1:]) if isinstance(x, (list, tuple)) else None  # initial states
        x = x[0] if isinstance(x, (list, tuple)) else x
        n, steps, features = x.shape
        mask = check_mask(self, mask, n, steps, x.device)
        W, U = self.kernel.value, self.recurrent_kernel.value
        b = self._input_bias()
        keep_x, keep_h = self._dropout_masks(x, n, features, training)
        x_in = x if keep_x is None else x * keep_x[:, None, :]
        flat = x_in.reshape(n * steps, features)
        Z = (torch.addmm(b, flat, W) if b is not None else flat @ W).view(n, steps, W.shape[1])
        rec_bias = self._recurrent_bias()
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        state = given if given is not None else self._start_states(x, n)
        if mask is None:
            outputs, h_ins, steps_back, final = run_steps(self, Z, U, rec_bias, state, keep_h,
                                                          order)
        else:
            outputs, h_ins, steps_back, final = run_masked_steps(self, Z, U, rec_bias, state,
                                                                 keep_h, order, mask)
        if self.stateful:
            self._kept_states = [s.detach().clone() for s in final]

        def backward(dy, need_dx=True):
            dZ, dM, dstate = steps_back(dy)
            dZ_flat, dM_flat = dZ.reshape(n * steps, W.shape[1]), dM.reshape(-1, U.shape[1])
            if self.kernel.trainable:
                self.kernel.grad.add_(flat.T @ dZ_flat)
            if self.recurrent_kernel.trainable:
                self.recurrent_kernel.grad.add_(torch.cat(h_ins).T @ dM_flat)
            if self.bias is not None and self.bias.trainable:
                self._add_bias_grad(dZ_flat.sum(0), dM_flat.sum(0))
            if not need_dx:
                return None
            dx = (dZ_flat @ W.T).view(n, steps, features)
            dx = dx if keep_x is None else dx * keep_x[:, None, :]
            return dx if given is None else (dx, *dstate)  # and dL/d(initial states)

        return outputs, backward

    skips_input_grad = True  # backward(dy, need_dx=False) skips dx = dZ W^T

    def _start_states(self, x, n):
        """Zeros, or for a stateful layer the previous batch's final states (Keras: the batch size
        must stay the same; gradients stop at the batch boundary, truncated backpropagation)."""
        kept = self._kept_states
        if not self.stateful or kept is None:
            return [torch.zeros(n, self.units, dtype=x.dtype, device=x.device)
                    for _ in range(self._state_count())]
        if kept[0].shape[0] != n:
            raise ValueError(f"Invalid batch: layer '{self.name}' is stateful and kept states for "
                             f"batches of {kept[0].shape[0]}, received a batch of {n}; use one "
                             f"batch size (and a sample count it divides), or call "
                             f"reset_state() first")
        return [s.to(device=x.device, dtype=x.dtype) for s in kept]

    def reset_state(self):
        """Forget a stateful layer's kept states: the next batch starts from zeros (Keras's
        `reset_state`; `reset_states` is its older name)."""
        self._kept_states = None

    reset_states = reset_state

    def _dropout_masks(self, x, n, features, training):
        """Keras's dropout masks for one batch, the same at every step: on the inputs (n, F) and on
        the state fed to U (n, units), each [u >= rate] / (1 - rate); None when off."""
        if not training:
            return None, None
        masks = []
        for rate, width in ((self.dropout, features), (self.recurrent_dropout, self.units)):
            if rate == 0:
                masks.append(None)
                continue
            u = torch.rand(n, width, generator=self._generator, dtype=torch.float32)
            masks.append((u >= rate).to(device=x.device, dtype=x.dtype).mul_(1.0 / (1.0 - rate)))
        return masks

    def rng_generators(self) -> dict:
        return {"dropout": self._generator}

    def _recurrent_bias(self):
        return None

    def _add_bias_grad(self, dz_sum, dm_sum):
        self.bias.grad.add_(dz_sum)

    def _state_count(self) -> int:
        return 1

    def compute_mask(self, x, mask=None):
        """Keras's: the sequence's mask when returning sequences, else None; with `return_state`
        the list [that, None per state]."""
        mask = mask_of(x, mask)
        out = mask if self.return_sequences else None
        return [out] + [None] * self._state_count() if self.return_state else out

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
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
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed, "stateful": self.stateful,
                "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "zero_output_for_mask": self.zero_output_for_mask}


class SimpleRNN(_Recurrent):
    """h_t = act(z_t + m_t), m_t = h_{t-1} U.  Backward: da = dh act'(a); dz_t = dm_t = da (the
    loop turns dm into dU and dh_{t-1})."""

    def _step(self, z, m, state, h_in):
        h, act_back = self.activation.forward(z + m)
        return [h], act_back

    def _step_backward(self, dstate, act_back):
        da = act_back(dstate[0])
        return da, da, [None]  # h_{t-1} reaches h_t only through m


class LSTM(_Recurrent):
    """Gates from g = z_t + m_t (m_t = h_{t-1} U), in Keras's column order i, f, c, o:

        i = s(g_i)  f = s(g_f)  o = s(g_o)  cc = act(g_c)   (s: recurrent_activation, sigmoid)
        c_t = f c_{t-1} + i cc          h_t = o act(c_t)

    Backward, from dh and dc (the next step's): dc += dh o act'(c_t); di = dc cc;
    df = dc c_{t-1}; dcc = dc i; do = dh act(c_t); each gate's dg through its activation;
    dz_t = dm_t = dg; dc_{t-1} = dc f. `unit_forget_bias` starts the forget gate's bias at 1."""

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

    def _step(self, z, m, state, h_in):
        c_prev = state[1]
        g = z + m
        u = self.units
        # s on all four blocks at once (one op; the c block's values are not used), act on c's
        s, s_back = self.recurrent_activation.forward(g)
        cc, cc_back = self.activation.forward(g[:, 2 * u:3 * u])
        i, f, o = s[:, :u], s[:, u:2 * u], s[:, 3 * u:]
        c = torch.addcmul(f * c_prev, i, cc)
        tc, tc_back = self.activation.forward(c)
        return [o * tc, c], (c_prev, i, f, cc, o, tc, s_back, cc_back, tc_back)

    def _step_backward(self, dstate, cache):
        c_prev, i, f, cc, o, tc, s_back, cc_back, tc_back = cache
        dh, dc = dstate
        u = self.units
        dc = dc + tc_back(dh * o)
        ds = torch.empty(dh.shape[0], 4 * u, dtype=dh.dtype, device=dh.device)
        torch.mul(dc, cc, out=ds[:, :u])             # d i
        torch.mul(dc, c_prev, out=ds[:, u:2 * u])    # d f
        ds[:, 2 * u:3 * u].zero_()
        torch.mul(dh, tc, out=ds[:, 3 * u:])         # d o
        dg = s_back(ds)
        dg[:, 2 * u:3 * u] = cc_back(dc * i)         # d cc, through act
        return dg, dg, [None, dc * f]  # h_{t-1} reaches the step only through m

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}
