"""Batches from a torch Dataset or DataLoader, checked and moved to the model's device as they come."""

import torch

from ..data import DataLoader, unpack_batch
from .targets import prepare_targets


class LoaderBatches:
    """Batches from a torch Dataset or DataLoader, moved to the model's device as they come."""

    def __init__(self, model, data, batch_size, shuffle, name, need_y=True):
        try:
            empty = len(data) == 0
        except TypeError:  # an iterable dataset has no length; checked when it yields nothing
            empty = False
        if empty:
            raise ValueError(f"Invalid {name}: expected a Dataset/DataLoader with at least one "
                             f"sample, received an empty {type(data).__name__}")
        if isinstance(data, DataLoader):
            self.loader = data
        else:
            # A DataLoader draws a seed from its generator every epoch, even without shuffling;
            # without one it would draw from torch's global RNG.
            self.loader = DataLoader(data, batch_size=batch_size, shuffle=shuffle,
                                     generator=model._shuffle_generator if shuffle
                                     else torch.Generator())
        self.model, self.name, self.need_y = model, name, need_y
        self.has_len = hasattr(self.loader, "__len__")
        try:
            len(self.loader)
        except TypeError:
            self.has_len = False
        self._checked = False
        self._pending = iter(())  # batches left from a partial pass (steps_per_epoch)
        self._names = ("x", "y", "sample_weight") if name == "x" else tuple(
            f"{name} {part}" for part in ("x", "y", "sample_weight"))

    def __len__(self):
        return len(self.loader)

    def _batches(self, steps):
        """One pass over the loader; with `steps`, that many batches continuing where the previous
        epoch stopped and restarting the loader when it runs out (as ArrayBatches does)."""
        if steps is None:
            yield from self.loader
            return
        for _ in range(steps):
            batch = next(self._pending, None)
            if batch is None:
                self._pending = iter(self.loader)
                batch = next(self._pending, None)
                if batch is None:  # an empty loader
                    return
            yield batch

    def epoch(self, steps=None):
        model = self.model
        for batch in self._batches(steps):
            xb, yb, swb = unpack_batch(batch)
            if not self.need_y:
                yield model._prepare_x(xb, self._names[0]), None, None
                continue
            if yb is None:
                raise ValueError(f"Invalid {self.name}: expected batches of (x, y) or (x, y, "
                                 f"sample_weight), received x only")
            if not self._checked:  # full checks on the first batch only
                xb, yb, swb = model._prepare_xy(xb, yb, swb, self._names)
                model._resolve_metrics(yb[:1])
                self._checked = True
            else:
                xb = model._match_input_rank(xb.detach()).to(model._device, model._dtype,
                                                              non_blocking=True)
                yb = prepare_targets(yb, model.loss, model.output_shape, model._dtype,
                                     model._device, self._names[1])
                swb = None if swb is None else swb.to(model._device, model._dtype)
            yield xb, yb, swb


def no_batches_error(batches) -> ValueError:
    name = getattr(batches, "name", "x")
    return ValueError(f"Invalid {name}: expected data with at least one batch, received a "
                      f"Dataset/DataLoader that yielded none")
