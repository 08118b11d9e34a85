"""Many tensors in one contiguous buffer, so that one collective moves them all.

    tensors: [ grads (flat) | loss_sum | count | metric states ... | non-finite | stop ]
    buffer : one 1-d tensor, allocated once per layout and reused every step

`pack` copies each tensor into its segment (cast to the buffer's dtype); `unpack` copies the
segments back into the same tensors, in place (cast back). A tensor that already IS its segment
(a caller that adopted `views()` as its storage) is neither copied in nor out.

The buffer's dtype is that of the first floating tensor (the gradients'), so the bulk travels in
its own precision. Integer and bool tensors ride along as floats: sums of integers are exact up to
2**24 in float32 and 2**53 in float64; a bool comes back True when any rank sent True.
"""

import torch


def _signature(tensors) -> tuple:
    return tuple((t.dtype, t.device, t.numel()) for t in tensors)


def _buffer_dtype(tensors) -> torch.dtype:
    for t in tensors:
        if t.is_floating_point():
            return t.dtype
    return torch.float64


class Packing:
    """A reusable buffer laid out for tensors of the given dtypes, devices and sizes."""

    def __init__(self, tensors):
        tensors = list(tensors)
        self.signature = _signature(tensors)
        self.dtype = _buffer_dtype(tensors)
        self.device = tensors[0].device
        self.offsets = [0]
        for t in tensors:
            self.offsets.append(self.offsets[-1] + t.numel())
        self.buffer = torch.zeros(self.offsets[-1], dtype=self.dtype, device=self.device)

    def segment(self, i: int) -> torch.Tensor:
        return self.buffer[self.offsets[i]:self.offsets[i + 1]]

    def views(self, tensors) -> list:
        """Segments shaped like `tensors` (when their dtype is the buffer's), for a caller to adopt
        as its storage so that packing it costs nothing."""
        return [self.segment(i).view(t.shape) if t.dtype == self.dtype else None
                for i, t in enumerate(tensors)]

    def _aliased(self, i: int, t: torch.Tensor) -> bool:
        seg = self.segment(i)
        return (t.dtype == self.dtype and t.is_contiguous() and t.numel() > 0
                and t.data_ptr() == seg.data_ptr())

    def pack(self, tensors) -> torch.Tensor:
        for i, t in enumerate(tensors):
            if not self._aliased(i, t):
                self.segment(i).copy_(t.reshape(-1))
        return self.buffer

    def unpack(self, tensors) -> None:
        for i, t in enumerate(tensors):
            if self._aliased(i, t):
                continue
            seg = self.segment(i)
            if t.dtype == torch.bool:
                t.copy_((seg != 0).view(t.shape))
            elif not t.is_floating_point() and not t.is_complex():
                t.copy_(seg.round().view(t.shape))
            else:
                t.copy_(seg.view(t.shape))


class PackingCache:
    """One Packing per layout seen (fit's step and evaluate's step differ); the last few are kept."""

    def __init__(self, size: int = 4):
        self.size = size
        self._packings: list[Packing] = []

    def find(self, tensors) -> Packing | None:
        """The packing laid out for exactly these dtypes, devices and sizes, if any."""
        try:
            signature = _signature(tensors)
        except AttributeError:  # not all tensors: the caller's checks will say which
            return None
        for p in self._packings:
            if p.signature == signature:
                return p
        return None

    def add(self, tensors) -> Packing:
        p = Packing(tensors)
        self._packings = [p, *self._packings][:self.size]
        return p


def pack_by_dtype(tensors):
    """{dtype: (flat buffer, [indices])} for a one-off collective over tensors of mixed dtypes."""
    groups: dict = {}
    for i, t in enumerate(tensors):
        groups.setdefault(t.dtype, []).append(i)
    out = {}
    for dtype, idx in groups.items():
        flat = torch.cat([tensors[i].reshape(-1) for i in idx]) if idx else None
        out[dtype] = (flat, idx)
    return out


def unpack_by_dtype(tensors, packed) -> None:
    for flat, idx in packed.values():
        offset = 0
        for i in idx:
            t = tensors[i]
            t.copy_(flat[offset:offset + t.numel()].view(t.shape))
            offset += t.numel()
