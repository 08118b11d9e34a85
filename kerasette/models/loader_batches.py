"""Batches from a torch Dataset or DataLoader, checked and moved to the model's device as they come.

Every batch is checked before its step, the way arrays are (feature shape, finite values that fit
the model's dtype, labels for the loss, non-negative finite sample weights, matching sample counts).
The first batch goes through the model's full checks (it may build the model and resolve the
metrics); later ones are checked where the loader left them, usually the CPU, and only then moved
(`non_blocking`), so a DataLoader feeding a GPU model never waits on the device for a check. (A
Dataset that already yields device tensors is checked on the device: one reduction per tensor.)
"""

import torch

from ..data import DataLoader, check_fits, to_tensor, unpack_batch
from ..training import data_adapter
from .batch_sources import batch_source, is_batch_source
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
        self.source = None  # a generator or PyDataset (batch_sources.py)
        if is_batch_source(data):
            self.loader = self.source = batch_source(data, shuffle, model._shuffle_generator)
        elif isinstance(data, DataLoader):
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

    @property
    def exhausted(self) -> bool:
        """True when a one-shot generator has run out (nothing more will come)."""
        return bool(getattr(self.source, "exhausted", False))

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
                if not self._checked:
                    self._checked = True
                    yield model._prepare_x(xb, self._names[0]), None, None
                else:
                    yield later_batch(model, xb, None, None, self._names)
                continue
            if yb is None:
                raise ValueError(f"Invalid {self.name}: expected batches of (x, y) or (x, y, "
                                 f"sample_weight), received x only")
            if not self._checked:  # full checks on the first batch only
                xb, yb, swb = model._prepare_xy(xb, yb, swb, self._names)
                model._resolve_metrics(yb[:1])
                self._checked = True
            else:
                xb, yb, swb = later_batch(model, xb, yb, swb, self._names)
            yield xb, yb, swb


def later_batch(model, xb, yb, swb, names):
    """(x, y, sample_weight) of a batch after the first (`y` None for predict), checked before
    its transfer to the model's device; ValueError / TypeError naming the part at fault."""
    x = to_tensor(xb, names[0])
    n = x.shape[0]
    x = data_adapter.match_input_rank(model, x)
    if tuple(x.shape[1:]) != tuple(model.input_shape[1:]):
        raise ValueError(f"Invalid {names[0]}: model '{model.name}' expects inputs of shape "
                         f"{tuple(model.input_shape)}, received a batch of shape {tuple(x.shape)}")
    check_fits(x, model._dtype, names[0])
    x = x.to(model._device, model._dtype, non_blocking=True)
    if yb is None:
        return x, None, None
    y = to_tensor(yb, names[1])
    if y.shape[0] != n:
        raise ValueError(f"Invalid {names[1]}: expected {n} samples to match {names[0]}, received "
                         f"{y.shape[0]}")
    y = prepare_targets(y, model.loss, model.output_shape, model._dtype, model._device, names[1])
    if swb is None:
        return x, y, None
    sw = to_tensor(swb, names[2])
    if sw.dim() == 2 and sw.shape[1] == 1:
        sw = sw[:, 0]
    if sw.dim() != 1 or sw.shape[0] != n:
        raise ValueError(f"Invalid {names[2]}: expected shape ({n},) to match {names[0]}, received "
                         f"{tuple(sw.shape)}")
    check_fits(sw, model._dtype, names[2])
    if bool((sw < 0).any()):
        raise ValueError(f"Invalid {names[2]}: expected non-negative weights, received negative ones")
    return x, y, sw.to(model._device, model._dtype, non_blocking=True)


def no_batches_error(batches) -> ValueError:
    name = getattr(batches, "name", "x")
    if getattr(batches, "exhausted", False):
        return ValueError(f"Invalid {name}: the generator yielded no batch (it is exhausted); "
                          f"a generator read for several passes must loop forever (`while True:`) "
                          f"with steps_per_epoch / validation_steps / steps given, or use a "
                          f"ks.utils.PyDataset")
    return ValueError(f"Invalid {name}: expected data with at least one batch, received a "
                      f"Dataset/DataLoader that yielded none")
