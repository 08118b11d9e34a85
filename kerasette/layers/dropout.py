"""`Dropout`: inverted dropout.

Training: each entry is kept with probability 1 - rate and scaled by 1 / (1 - rate), so the expected
output equals the input and nothing needs rescaling at inference:

    mask = [u >= rate] / (1 - rate),  u ~ U[0, 1)      y = x * mask      dx = dy * mask

Inference (training=False), or rate == 0: y = x (the same tensor) and dx = dy.
"""

import math
import numbers

import torch

from ..distribution.share import draw_rows
from ..random_state import make_generator
from .base import Layer


class Dropout(Layer):
    """Zero each entry with probability `rate` during training (0 <= rate < 1).

    The masks come from this layer's own generator, seeded by `seed` (or by kerasette's global
    stream when seed is None, see `ks.utils.set_random_seed`), never from torch's global RNG: two
    `Dropout(0.5, seed=1)` layers draw the same sequence of masks. The mask's uniforms are drawn
    in float32 whatever the input dtype, so float32 and float64 runs drop the same entries. On
    another device, a generator for that device is seeded once from this layer's CPU generator, so
    runs there are reproducible too (but drop other entries than on the CPU).
    """

    supports_masking = True  # a mask passes through (kerasette/layers/mask_protocol.py)

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise TypeError(f"Invalid rate: expected a float in [0, 1), received {rate!r}")
        if not (math.isfinite(rate) and 0 <= rate < 1):
            raise ValueError(f"Invalid rate: expected a float in [0, 1), received {rate!r}")
        generator = make_generator(seed)  # validates seed
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = seed
        self._generators = {torch.device("cpu"): generator}

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x, _identity
        mask = self._mask(x)
        y = x * mask

        def backward(dy):
            return dy * mask
        return y, backward

    def _mask(self, x):
        """[u >= rate] / (1 - rate) with the shape, dtype and device of x."""
        gen = self._generator(x.device)
        # Under data-parallel training the mask is drawn for the global batch and this rank keeps
        # its rows, so 1 or N processes draw the same masks (kerasette.distribution.share).
        u = draw_rows(lambda shape: torch.rand(shape, generator=gen, dtype=torch.float32,
                                               device=gen.device), x.shape)
        keep = (u >= self.rate).to(device=x.device, dtype=x.dtype)
        return keep.mul_(1.0 / (1.0 - self.rate))

    def rng_generators(self) -> dict:
        """One generator per device this layer has drawn masks on, keyed by device name."""
        return {str(device): gen for device, gen in self._generators.items()}

    def _generator(self, device: torch.device) -> torch.Generator:
        gen = self._generators.get(device)
        if gen is None:
            cpu = self._generators[torch.device("cpu")]
            seed = int(torch.randint(0, 2**62, (1,), generator=cpu))
            gen = self._generators[device] = torch.Generator(device=device).manual_seed(seed)
        return gen

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def _identity(dy):
    return dy
