"""`ks.utils.PyDataset`: a Python object giving whole batches by index (Keras 3.15's
`keras.utils.PyDataset`, trainers/data_adapters/py_dataset_adapter.py).

    class Batches(ks.utils.PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)          # workers=, use_multiprocessing=, max_queue_size=
            self.x, self.y, self.batch_size = x, y, batch_size
        def __len__(self):                      # number of batches
            return math.ceil(len(self.x) / self.batch_size)
        def __getitem__(self, i):               # batch i: (x, y) or (x, y, sample_weight)
            s = slice(i * self.batch_size, (i + 1) * self.batch_size)
            return self.x[s], self.y[s]

    model.fit(Batches(x, y, 32), epochs=5)      # shuffle=True shuffles the batch order

`fit` / `evaluate` / `predict` call `on_epoch_begin()` before and `on_epoch_end()` after every pass.
The batches are read in this process, in order: `workers` and `use_multiprocessing` are accepted for
Keras's signature and stored, but no worker threads or processes are started.
"""

import numbers


class PyDataset:
    """Base class of a dataset that returns batch `i` from `__getitem__(i)`."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"Invalid {name}: expected a positive int, received {value!r}")
        if not isinstance(use_multiprocessing, bool):
            raise TypeError(f"Invalid use_multiprocessing: expected True or False, received "
                            f"{use_multiprocessing!r}")
        self._workers, self._use_multiprocessing = int(workers), use_multiprocessing
        self._max_queue_size = int(max_queue_size)

    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) "
                                  f"returning batch `index`")

    @property
    def num_batches(self):
        """len(self), or None for an endless dataset (no __len__): then pass steps_per_epoch."""
        if hasattr(self, "__len__"):
            return len(self)
        return None

    def on_epoch_begin(self):
        """Called before each pass over the data."""

    def on_epoch_end(self):
        """Called after each pass over the data (reshuffle the samples here, as in Keras)."""
