"""Batch logs that read device values only when a callback looks at them.

The fit loop keeps running sums as tensors on the device. Turning one into a Python float
(`.item()`) waits for the device, so batch logs hold 0-d tensors and convert each on first access:
a callback that never reads `logs["loss"]` costs no synchronisation.

The tensors are a snapshot taken when the logs are made (`loss_sum / count` and `metric.result()`
are new tensors, computed without waiting), never the running sums themselves: a callback that
keeps the logs of batch 3 and reads them after batch 9 still sees batch 3's values.
"""

from collections.abc import Mapping


class LazyLogs(Mapping):
    """A read-only mapping name -> float; each value is converted on first access, then cached.

    `values` maps names to 0-d tensors (or numbers) that nothing updates in place afterwards.
    `dict(logs)` gives a plain dict of floats; the repr is that dict's.
    """

    __slots__ = ("_values", "_cache")

    def __init__(self, values: dict):
        self._values = values
        self._cache = {}

    def __getitem__(self, key):
        if key not in self._cache:
            value = self._values[key]
            self._cache[key] = float(value.item() if hasattr(value, "item") else value)
        return self._cache[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return repr(dict(self))
