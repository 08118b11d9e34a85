"""The current distribution: set explicitly, or found in torchrun's environment.

    set_distribution(DataParallel(timeout=30))   # this one
    set_distribution(None)                       # none: every process trains alone (the opt-out)
    distribution()                               # the current one, or None

Until `set_distribution` is called, `distribution()` returns a `DataParallel()` made once when the
environment says WORLD_SIZE > 1 (torchrun), unless KERASETTE_DISTRIBUTION=off, and None otherwise.
"""

from .data_parallel import DataParallel
from .environment import opted_out, read_launch

_UNSET = object()
_state = {"current": _UNSET, "detected": None}


def set_distribution(value) -> None:
    """Make `value` (a DataParallel, or None for no distribution) the current distribution."""
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"Invalid value: expected a ks.distribution.DataParallel or None, received "
                        f"{type(value).__name__}")
    _state["current"] = value


def distribution():
    """The current distribution, or None (see the module docstring for the automatic one)."""
    current = _state["current"]
    if current is not _UNSET:
        return current
    if opted_out() or read_launch().world_size <= 1:
        return None
    if _state["detected"] is None:
        _state["detected"] = DataParallel()
    return _state["detected"]


def _swap(value):
    """Set `value` as current and return what was set before (for DataParallel.scope)."""
    previous = _state["current"]
    _state["current"] = value
    return previous


def _reset() -> None:
    """Forget any explicit choice and the detected one (tests)."""
    _state["current"] = _UNSET
    _state["detected"] = None
