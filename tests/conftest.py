"""Shared test settings.

Tests use tiny tensors, for which torch's intra-op threads only add contention (on a busy 2-core
machine a 4x4 matmul with 2 threads was seen to take 20 ms); one thread keeps the suite fast and steady.

Hypothesis runs in one of two profiles:

- ``kerasette`` (the default): ``derandomize=True`` and no example database, so ``python -m pytest``
  draws the same examples on every machine and every run (a newcomer's fresh clone sees what CI saw).
- ``explore``: fresh random seeds and the local ``.hypothesis`` database, for a maintainer hunting new
  counterexamples. Opt in with ``KERASETTE_HYPOTHESIS=explore python -m pytest``; a failure prints the
  ``@reproduce_failure`` blob and the seed. An explicit ``--hypothesis-seed=N`` also selects it (a
  derandomized run would otherwise ignore the seed), so ``pytest --hypothesis-seed=7`` replays seed 7.
"""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

from kerasette import config

torch.set_num_threads(1)

settings.register_profile(
    "kerasette", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "explore", derandomize=False, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
HYPOTHESIS_PROFILES = {"": "kerasette", "default": "kerasette", "explore": "explore"}


def hypothesis_profile(env_value, seed):
    """The profile for KERASETTE_HYPOTHESIS=`env_value` and `--hypothesis-seed` `seed` (or None)."""
    if env_value not in HYPOTHESIS_PROFILES:
        raise ValueError(f"Invalid KERASETTE_HYPOTHESIS: expected one of "
                         f"{sorted(k for k in HYPOTHESIS_PROFILES if k)}, received {env_value!r}")
    return "explore" if seed is not None else HYPOTHESIS_PROFILES[env_value]


def pytest_configure(config):
    # runs before any test module is imported, so every settings(...) decorator inherits the profile
    if config.getoption("hypothesis_profile", default=None):
        return  # an explicit --hypothesis-profile wins
    seed = config.getoption("hypothesis_seed", default=None)
    settings.load_profile(hypothesis_profile(os.environ.get("KERASETTE_HYPOTHESIS", ""), seed))


@pytest.fixture
def float64():
    """Create weights in float64 for the test (gradient checks and oracles), then restore."""
    saved = config.floatx()
    config.set_floatx("float64")
    yield
    config.set_floatx(saved)
