"""Python generators and `ks.utils.PyDataset` as sources of batches, in the shape `LoaderBatches`
reads a DataLoader: an iterable of batches, with a length when the number of batches is known.

Keras 3.15 semantics: a generator is read as it comes (an epoch ends when it is exhausted, or after
`steps_per_epoch` batches, the next epoch continuing where that one stopped; `shuffle` does not
apply); a PyDataset gives batch `i` from `ds[i]`, in a shuffled order when fit's `shuffle=True`,
with `on_epoch_begin` / `on_epoch_end` around every full pass.
"""

import torch

from ..data import is_generator
from ..py_dataset import PyDataset


def is_batch_source(x) -> bool:
    return isinstance(x, PyDataset) or is_generator(x)


class GeneratorSource:
    """A one-shot iterator of batches. `exhausted` turns True once it has run out."""

    def __init__(self, iterator):
        self.iterator, self.exhausted = iterator, False

    def __iter__(self):
        # Not `yield from`: when a pass stops early (steps) and this wrapper is dropped, closing it
        # must not close the user's generator, which the next pass continues.
        for batch in self.iterator:  # noqa: UP028
            yield batch
        self.exhausted = True


class PyDatasetSource:
    """Batches `ds[i]` for i in 0 .. num_batches - 1 (shuffled order with `generator`); endless
    (i = 0, 1, ...) when the dataset has no length."""

    exhausted = False

    def __init__(self, dataset: PyDataset, generator: torch.Generator | None):
        self.dataset, self.generator, self._n = dataset, generator, dataset.num_batches

    def __len__(self):
        if self._n is None:
            raise TypeError("an endless PyDataset has no length")
        return self._n

    def __iter__(self):
        ds, n = self.dataset, self._n
        ds.on_epoch_begin()
        if n is None:
            i = 0
            while True:
                yield ds[i]
                i += 1
        order = torch.randperm(n, generator=self.generator).tolist() if self.generator is not None \
            else range(n)
        for i in order:
            yield ds[i]
        ds.on_epoch_end()


def batch_source(data, shuffle: bool, generator: torch.Generator):
    """The iterable LoaderBatches reads for a generator or a PyDataset."""
    if isinstance(data, PyDataset):
        n = data.num_batches
        if n is not None and (not isinstance(n, int) or n < 0):
            raise ValueError(f"Invalid x: {type(data).__name__}.__len__ must return the number of "
                             f"batches, an int >= 0, received {n!r}")
        return PyDatasetSource(data, generator if shuffle else None)
    return GeneratorSource(data)
