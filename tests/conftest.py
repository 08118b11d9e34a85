"""Shared test settings.

Tests use tiny tensors, for which torch's intra-op threads only add contention (on a busy 2-core
machine a 4x4 matmul with 2 threads was seen to take 20 ms); one thread keeps the suite fast and steady.
"""

import pytest
import torch

from kerasette import config

torch.set_num_threads(1)


@pytest.fixture
def float64():
    """Create weights in float64 for the test (gradient checks and oracles), then restore."""
    saved = config.floatx()
    config.set_floatx("float64")
    yield
    config.set_floatx(saved)
