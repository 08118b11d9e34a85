"""A sanity check before any large allocation: a weight, a one-hot table or a tensor described by
a file must take at most half of this machine's memory, or the request is refused with a ValueError
instead of a MemoryError (or minutes of swapping) after part of the work was done. Half, because
nothing useful is done with such a tensor without a second one as large (a gradient, a copy)."""

import contextlib
import math
import os
import threading

import torch

_budget = threading.local()  # .left: elements still allowed inside `allocation_budget`, or absent


def machine_memory_bytes() -> int:
    """Physical memory of this machine (bytes); a generous 1 TiB where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 1 << 40


def _human(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"  # pragma: no cover


def check_allocation(shape, dtype: torch.dtype, what: str) -> int:
    """The element count of `shape`, after checking every dimension is a non-negative int and the
    tensor fits in memory; ValueError naming `what` (e.g. "units: weight 'dense/kernel'") if not."""
    dims = tuple(shape)
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise ValueError(f"Invalid {what}: expected a shape of non-negative ints, received "
                             f"{dims!r}")
    count = math.prod(dims)
    nbytes = count * torch.empty((), dtype=dtype).element_size()
    limit = machine_memory_bytes() // 2
    if nbytes > limit:
        raise ValueError(f"Invalid {what}: shape {dims} holds {count} {str(dtype).removeprefix('torch.')} "
                         f"values ({_human(nbytes)}), more than half this machine's memory "
                         f"({_human(limit)})")
    left = getattr(_budget, "left", None)
    if left is not None:
        if count > left[0]:
            raise ValueError(f"Invalid {what}: shape {dims} ({count} values) is more than "
                             f"{left[1]} allows ({left[0]} values left)")
        left[0] -= count
    return count


@contextlib.contextmanager
def allocation_budget(elements: int, source: str):
    """Inside the block, `check_allocation` (every `add_weight`) refuses to go beyond `elements`
    values in total: loading a file builds its architecture within the size of the tensors it
    stores, so a 2 KB file declaring a 4 GiB model is refused before anything large exists."""
    saved = getattr(_budget, "left", None)
    _budget.left = [int(elements), source]
    try:
        yield
    finally:
        _budget.left = saved
