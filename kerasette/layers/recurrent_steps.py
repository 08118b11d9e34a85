"""The loop over a recurrent layer's steps and its backward through time, twice: plain, and with
a Keras mask (its readable twin when the mask is all True; a test checks they agree bit for bit).

Both take the layer (its `_step` / `_step_backward`, `return_sequences`, `return_state`), Z = x W
+ b (N, T, G units), U (units, G units), the recurrent bias (GRU) or None, the starting states, the
recurrent dropout mask keep_h (N, units) or None, and `order`, the time index of each processed
step k (reversed with `go_backwards`). Both return `(outputs, h_ins, backward, final states)`: the
layer's outputs (Keras's structure), the states fed to U at each step (h_in_k = h_{k-1} keep_h),
`backward(dy) -> (dZ (N, T, G units), dM (T, N, G units), dL/d(starting states))` and the last
states (which a stateful layer keeps for its next batch).

One step k of the cell: m_k = h_in_k U (+ b_rec), (new states) = cell(Z[:, order[k]], m_k, states,
h_in_k).

With a mask (N, T) bool, True = real step, as Keras's `backend.rnn` (m_k = mask[:, order[k]]):

    state_k  = where(m_k, new state, state_{k-1})     for h (and c)
    output_k = where(m_k, new h, output_{k-1})        output_{-1} = 0

so a padded step leaves the states and the output as they were. The outputs are output_k (N, T,
units) in processing order, or the last one; `zero_output_for_mask=True` returns
where(m_k, output_k, 0) instead. The where-blends are linear, so their backward is

    d new = where(m_k, d, 0)      d previous += where(m_k, 0, d)

for the states (d new h gets both the state's and the output's part) and for the output.
"""

import torch


def _through_U(dm, U, keep_h, extra=()):
    """dL/dh_in (then dL/dh_{k-1}) from dL/dm, m = h_in U (+ b_rec), h_in = h_{k-1} keep_h;
    `extra`: a cell's own gradient with respect to h_in (GRU with reset_after=False)."""
    dh_in = dm @ U.T
    if extra:
        dh_in = dh_in.add_(extra[0])
    return dh_in if keep_h is None else dh_in.mul_(keep_h)


def _start_grads(layer, dy, state):
    """(dL/d output, [dL/d final state, ...]) from dy, zeros where a state got no gradient."""
    douts = list(dy) if layer.return_state else [dy]
    d_out, d_states = douts[0], douts[1:]
    dstate = [torch.zeros_like(s) if d is None else d.clone()
              for s, d in zip(state, d_states or [None] * len(state))]
    return d_out, dstate


def run_steps(layer, Z, U, rec_bias, state, keep_h, order):
    """The plain loop (no mask)."""
    caches, h_ins, hs = [], [], []
    for t in order:
        h_in = state[0] if keep_h is None else state[0] * keep_h
        m = h_in @ U if rec_bias is None else torch.addmm(rec_bias, h_in, U)
        state, cache = layer._step(Z[:, t], m, state, h_in)
        caches.append(cache)
        h_ins.append(h_in)
        hs.append(state[0])
    out = torch.stack(hs, 1) if layer.return_sequences else state[0]
    outputs = [out, *state] if layer.return_state else out

    def backward(dy):
        d_out, dstate = _start_grads(layer, dy, state)
        if d_out is not None and not layer.return_sequences:
            dstate[0] = dstate[0] + d_out
        dZ = torch.zeros_like(Z)
        dM = torch.empty(len(caches), Z.shape[0], U.shape[1], dtype=U.dtype, device=U.device)
        for k in range(len(caches) - 1, -1, -1):
            if d_out is not None and layer.return_sequences:
                dstate[0] = dstate[0] + d_out[:, k]
            dz, dm, dstate, *extra = layer._step_backward(dstate, caches[k])
            dh_in = _through_U(dm, U, keep_h, extra)
            dstate[0] = dh_in if dstate[0] is None else dstate[0].add_(dh_in)
            dZ[:, order[k]] = dz
            dM[k] = dm
        return dZ, dM, dstate

    return outputs, h_ins, backward, state


def run_masked_steps(layer, Z, U, rec_bias, state, keep_h, order, mask):
    """The loop with a mask (N, T) bool (see the module docstring)."""
    real = mask[:, list(order)]         # (N, T): is processed step k real
    real_k = real.T.unsqueeze(-1)       # (T, N, 1), one row per processed step
    zeros = torch.zeros_like(state[0])  # output_{-1}
    out = zeros
    caches, h_ins, outs = [], [], []
    for k, t in enumerate(order):
        h_in = state[0] if keep_h is None else state[0] * keep_h
        m = h_in @ U if rec_bias is None else torch.addmm(rec_bias, h_in, U)
        new, cache = layer._step(Z[:, t], m, state, h_in)
        state = [torch.where(real_k[k], s_new, s) for s_new, s in zip(new, state)]
        out = torch.where(real_k[k], new[0], out)
        caches.append(cache)
        h_ins.append(h_in)
        outs.append(out)
    zero_out = layer.zero_output_for_mask
    if layer.return_sequences:
        y = torch.stack(outs, 1)
        y = torch.where(real.unsqueeze(-1), y, 0.0) if zero_out else y
    else:
        y = torch.where(real_k[-1], out, 0.0) if zero_out else out
    outputs = [y, *state] if layer.return_state else y

    def backward(dy):
        d_out, dstate = _start_grads(layer, dy, state)
        if d_out is not None and zero_out:  # y = where(real, output, 0)
            d_out = torch.where(real.unsqueeze(-1) if layer.return_sequences else real_k[-1],
                                d_out, 0.0)
        d_output = d_out if d_out is not None and not layer.return_sequences else zeros
        dZ = torch.zeros_like(Z)
        dM = torch.empty(len(caches), Z.shape[0], U.shape[1], dtype=U.dtype, device=U.device)
        for k in range(len(caches) - 1, -1, -1):
            if d_out is not None and layer.return_sequences:
                d_output = d_output + d_out[:, k]
            r = real_k[k]
            d_new = [torch.where(r, d_output + dstate[0], 0.0),
                     *(torch.where(r, d, 0.0) for d in dstate[1:])]
            kept = [torch.where(r, 0.0, d) for d in dstate]  # padded rows: carried to k - 1
            d_output = torch.where(r, 0.0, d_output)
            dz, dm, d_prev, *extra = layer._step_backward(d_new, caches[k])
            dstate = [d if p is None else d + p for d, p in zip(kept, d_prev)]
            dstate[0] = dstate[0].add_(_through_U(dm, U, keep_h, extra))
            dZ[:, order[k]] = dz
            dM[k] = dm
        return dZ, dM, dstate

    return outputs, h_ins, backward, state


def check_mask(layer, mask, n, steps, device):
    """The sequence's mask as a bool (N, T) tensor on `device` (Keras casts to bool), or None."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"Invalid mask: layer '{layer.name}' expects a torch.Tensor of shape "
                        f"(batch, steps), received {type(mask).__name__}")
    if tuple(mask.shape) != (n, steps):
        raise ValueError(f"Invalid mask: layer '{layer.name}' expects a mask of shape "
                         f"(batch, steps) = {(n, steps)}, received {tuple(mask.shape)}")
    return mask.to(device=device, dtype=torch.bool)
