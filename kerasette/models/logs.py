"""Batch logs that read device values only when a callback looks at them.

The fit loop keeps running sums as tensors on the device. Turning one into a Python float
(`.item()`) waits for the device, so batch logs hold zero-argument functions and call them on access:
a callback that never reads `logs["loss"]` costs no synchronisation.
"""

from collections.abc import Mapping


class LazyLogs(Mapping):
    """A read-only mapping name -> float whose values are computed on first access."""

    __slots__ = ("_getters", "_cache")

    def __init__(self, getters: dict):
        self._getters = getters  # name -> callable returning a 0-d tensor or a number
        self._cache = {}

    def __getitem__(self, key):
        if key not in self._cache:
            value = self._getters[key]()
            self._cache[key] = float(value.item() if hasattr(value, "item") else value)
        return self._cache[key]

    def __iter__(self):
        return iter(self._getters)

    def __len__(self):
        return len(self._getters)

    def __repr__(self):
        return f"LazyLogs({dict(self)!r})"
