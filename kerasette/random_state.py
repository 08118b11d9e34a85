"""One seeded random stream for the whole library, separate from torch's global RNG.

Weight initializers without their own seed, dropout without a seed and `fit`'s shuffling all draw
from generators derived here, so `set_random_seed(s)` makes a run reproducible without touching
(or being disturbed by) the user's own use of `torch.manual_seed`.
"""

import random

import torch

_state = {"generator": torch.Generator().manual_seed(1337)}


def set_random_seed(seed: int) -> None:
    """Seed kerasette's stream, and also Python's `random` and torch's global RNG (as Keras does)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"Invalid seed: expected a non-negative int, received {seed!r}")
    _state["generator"] = torch.Generator().manual_seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)


def global_generator() -> torch.Generator:
    """The library-wide CPU generator (used when no seed is given)."""
    return _state["generator"]


def make_generator(seed: int | None = None) -> torch.Generator:
    """A fresh CPU generator: from `seed` if given, else seeded by a draw from the global stream."""
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,), generator=global_generator()))
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"Invalid seed: expected None or a non-negative int, received {seed!r}")
    return torch.Generator().manual_seed(seed)
