"""`RNN(cell)` for a cell of your own, as in Keras's RNN guide:

    class MinimalRNNCell(ks.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units, self.state_size = units, units
        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units))
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units))
        def call(self, inputs, states):
            output = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
            return output, [output]

    y = ks.layers.RNN(MinimalRNNCell(32))(x)

The cell's `call(inputs, states)` runs once, on symbolic tensors of one step (inputs (N, F), each
state (N, state_size)), and becomes a graph, exactly as a composite layer's call does; so its
backward is the hand-written backwards of the layers and ks.ops it calls, and the same rule holds
(no branching on data values). Each time step runs that graph on the step's slice and the states:

    forward, t = 0 .. T-1               backward, t = T-1 .. 0
    o_t, s_t = step(x_t, s_{t-1})       [dx_t, ds_{t-1}] = step.backward([do_t, ds_t])
                                        (do_t: the returned output's gradient at t)

With a Keras mask (N, T) a padded step keeps the states and the previous output (o_{-1} = 0), as
the built-in layers do (recurrent_steps.py): o_t = where(m_t, o_new, o_{t-1}), the same for s_t,
and the backward splits each gradient between the two sides of the where. `return_sequences`,
`return_state`, `go_backwards` and `zero_output_for_mask` are Keras's. Not supported: stacked
cells (a list), nested state structures, `initial_state`, `stateful`.
"""

import numbers

import torch

from ..graph.tracing import accepts_training, trace_function
from .base import Layer
from .mask_protocol import mask_of


def _state_sizes(cell) -> list:
    size = getattr(cell, "state_size", None)
    sizes = list(size) if isinstance(size, (list, tuple)) else [size]
    if not sizes or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s <= 0
                        for s in sizes):
        raise TypeError(f"Invalid cell: RNN needs the cell's `state_size` as a positive int or a "
                        f"list of them, received {size!r} from {type(cell).__name__}")
    return [int(s) for s in sizes]


class CellRNN(Layer):
    """The recurrent layer `RNN(cell)` makes for a cell with `call(inputs, states)` (see the
    module docstring)."""

    uses_mask = True
    supports_masking = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 zero_output_for_mask=False, **kwargs):
        if not isinstance(cell, Layer) or not callable(getattr(type(cell), "call", None)):
            raise TypeError(f"Invalid cell: expected a Layer with call(inputs, states) and "
                            f"state_size, received {type(cell).__name__}")
        for arg, value in (("return_sequences", return_sequences), ("return_state", return_state),
                           ("go_backwards", go_backwards),
                           ("zero_output_for_mask", zero_output_for_mask)):
            if not isinstance(value, bool):
                raise TypeError(f"Invalid {arg}: expected True or False, received {value!r}")
        super().__init__(**kwargs)
        self.state_sizes = _state_sizes(cell)
        cell._call_traced_by = self  # its call takes states: traced here, not as a composite
        self.cell = cell
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.zero_output_for_mask = go_backwards, zero_output_for_mask
        self._steps = {}  # training flag -> the traced graph of one step

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"Layer '{self.name}' expects inputs of shape (batch, steps, "
                             f"features), received {tuple(input_shape)}")
        step_in = (None, input_shape[-1])
        if not self.cell.built:
            self.cell.build(step_in)
            self.cell.built = True
        shapes = [step_in] + [(None, s) for s in self.state_sizes]
        modes = (False, True) if accepts_training(self.cell.call) else (None,)
        for mode in modes:
            self._steps[mode] = trace_function(self.cell, shapes, lambda x, *s, mode=mode: _flat(
                self.cell.call(x, list(s)) if mode is None else
                self.cell.call(x, list(s), training=mode), len(self.state_sizes), self.cell))

    def _sublayers(self) -> list:
        return [self.cell] + [layer for g in self._steps.values() for layer in g.layers]

    def _step(self, training):
        return self._steps.get(None) or self._steps[bool(training)]

    def forward(self, x, training=False, mask=None):
        mask = mask_of(x, mask)
        graph = self._step(training)
        plan = graph.plan(input_grads=True)
        n, steps = x.shape[0], x.shape[1]
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        state = [torch.zeros(n, s, dtype=x.dtype, device=x.device) for s in self.state_sizes]
        out, outs, backs, keeps = None, [], [], []
        for t in order:
            step_out, back = graph.forward([x[:, t], *state], training, plan)
            new_out, new_state = step_out[0], step_out[1:]
            if mask is not None:
                keep = mask[:, t, None]
                prev = torch.zeros_like(new_out) if out is None else out
                new_out = torch.where(keep, new_out, prev)
                new_state = [torch.where(keep, a, b) for a, b in zip(new_state, state)]
                keeps.append(keep)
            out, state = new_out, new_state
            outs.append(out)
            backs.append(back)
        seq = torch.stack(outs, 1)
        zero = self.zero_output_for_mask and mask is not None
        if zero:
            processed = torch.stack(keeps, 1)  # the mask in processing order, (N, T, 1)
            seq = torch.where(processed, seq, 0.0)
        y = seq if self.return_sequences else seq[:, -1]
        outputs = [y, *state] if self.return_state else y

        def backward(dy, need_dx=True):
            douts = list(dy) if self.return_state else [dy]
            d_y = douts[0]
            d_state = [torch.zeros_like(s) if d is None else d
                       for s, d in zip(state, douts[1:] or [None] * len(state))]
            d_seq = torch.zeros_like(seq)
            if d_y is not None:
                if self.return_sequences:
                    d_seq = d_y.clone()
                else:
                    d_seq[:, -1] = d_y
            if zero:
                d_seq = torch.where(processed, d_seq, 0.0)
            dx = torch.zeros_like(x)
            d_out = torch.zeros_like(seq[:, 0])  # carried to the previous output (masks only)
            for k in range(len(backs) - 1, -1, -1):
                d_o = d_seq[:, k] + d_out
                if mask is not None:
                    keep = keeps[k]
                    d_out = torch.where(keep, 0.0, d_o)
                    d_o = torch.where(keep, d_o, 0.0)
                    carried = [torch.where(keep, 0.0, d) for d in d_state]
                    d_state = [torch.where(keep, d, 0.0) for d in d_state]
                grads = backs[k]([d_o, *d_state])
                dx[:, order[k]] = grads[0] if grads[0] is not None else 0.0
                d_state = [torch.zeros_like(s) if g is None else g
                           for s, g in zip(state, grads[1:])]
                if mask is not None:
                    d_state = [a + b for a, b in zip(d_state, carried)]
            return dx if need_dx else None

        return outputs, backward

    def compute_mask(self, x, mask=None):
        out = mask_of(x, mask) if self.return_sequences else None
        return [out] + [None] * len(self.state_sizes) if self.return_state else out

    def compute_output_shape(self, input_shape):
        units = self._step(False).outputs[0].shape[-1]
        n, steps = input_shape[0], input_shape[1]
        out = (n, steps, units) if self.return_sequences else (n, units)
        if not self.return_state:
            return out
        return [out] + [(n, s) for s in self.state_sizes]

    def get_config(self) -> dict:
        from . import serialize

        return {**super().get_config(), "cell": serialize(self.cell),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards,
                "zero_output_for_mask": self.zero_output_for_mask}

    @classmethod
    def from_config(cls, config: dict):
        from . import deserialize

        config = dict(config)
        return cls(deserialize(config.pop("cell")), **config)


def _flat(result, n_states: int, cell) -> list:
    """[output, *new states] from a cell's `(output, new_states)`."""
    if not isinstance(result, (list, tuple)) or len(result) != 2:
        raise TypeError(f"'{cell.name}'.call(inputs, states) must return (output, new_states), "
                        f"received {result!r}")
    output, states = result
    states = list(states) if isinstance(states, (list, tuple)) else [states]
    if len(states) != n_states:
        raise TypeError(f"'{cell.name}'.call returned {len(states)} states for state_size "
                        f"{cell.state_size!r}")
    return [output, *states]
