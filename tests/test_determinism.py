"""README's test command is reproducible: Hypothesis is derandomized unless a maintainer opts in."""

import os

import pytest
from conftest import hypothesis_profile
from hypothesis import settings


def test_profile_choice():
    assert hypothesis_profile("", None) == "kerasette"
    assert hypothesis_profile("explore", None) == "explore"
    assert hypothesis_profile("", "7") == "explore"  # an explicit seed must not be ignored
    with pytest.raises(ValueError, match="KERASETTE_HYPOTHESIS.*'nope'"):
        hypothesis_profile("nope", None)


@pytest.mark.skipif(os.environ.get("KERASETTE_HYPOTHESIS") == "explore", reason="explore run")
def test_plain_run_is_derandomized(pytestconfig):
    if pytestconfig.getoption("hypothesis_seed") or pytestconfig.getoption("hypothesis_profile"):
        pytest.skip("seeded or profiled run")
    assert settings.default.derandomize and settings.default.database is None
