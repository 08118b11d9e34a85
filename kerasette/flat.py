"""Flat weight buffers: many weights as views into one contiguous tensor.

After `pack(weights)`, every `w.value` is a view into `buffer.params` and every `w.grad` a view into
`buffer.grads`. An optimizer step is then a few tensor operations on two tensors whatever the number
of layers; zeroing all gradients is `buffer.grads.zero_()`; a global gradient norm is one `norm`.

    params: [ W1 (flattened) | b1 | W2 | b2 | ... ]
    grads : [ dW1            | db1| dW2| db2| ... ]
"""

import torch


class FlatBuffer:
    """One contiguous parameter tensor and one gradient tensor shared by `weights` (in order)."""

    def __init__(self, weights, dtype=None, device=None):
        weights = list(weights)
        if not weights:
            raise ValueError("Invalid weights: expected at least one weight to pack, received none")
        first = weights[0].value
        dtype = dtype or first.dtype
        device = device or first.device
        total = sum(w.numel() for w in weights)
        self.weights = weights
        self.params = torch.empty(total, dtype=dtype, device=device)
        self.grads = torch.zeros(total, dtype=dtype, device=device)
        offset = 0
        for w in weights:
            n = w.numel()
            self.params[offset:offset + n].copy_(w.value.reshape(-1))
            self.grads[offset:offset + n].copy_(w.grad.reshape(-1))
            offset += n
        self._rebind()

    def _rebind(self) -> None:
        offset = 0
        for w in self.weights:
            n, shape = w.numel(), w.value.shape
            w.value = self.params[offset:offset + n].view(shape)
            w.grad = self.grads[offset:offset + n].view(shape)
            w._buffer = self
            offset += n

    def slices(self):
        """(weight, start, stop) for each weight: where it lives in the flat tensors."""
        offset = 0
        for w in self.weights:
            yield w, offset, offset + w.numel()
            offset += w.numel()

    def to(self, device=None, dtype=None) -> "FlatBuffer":
        """Move both tensors (and so every view) to `device` / `dtype`, in place."""
        self.params = self.params.to(device=device, dtype=dtype)
        self.grads = self.grads.to(device=device, dtype=dtype)
        self._rebind()
        return self

    def zero_grad(self) -> None:
        self.grads.zero_()

    def __len__(self):
        return self.params.numel()


def pack(weights, dtype=None, device=None) -> FlatBuffer:
    """Lay `weights` out in one buffer, reusing the current one if they already are exactly that."""
    weights = list(weights)
    buf = weights[0]._buffer if weights else None
    if (buf is not None and buf.weights == weights and (dtype is None or dtype == buf.params.dtype)
            and (device is None or torch.device(device) == buf.params.device)):
        return buf
    return FlatBuffer(weights, dtype, device)
