"""Test doubles for the callback tests: a tiny model and optimizer with the interface fit offers
callbacks (get/set_weights, save, optimizer.learning_rate and state, RNG state, stop_training),
and a callback that records every hook it receives."""

from collections.abc import Mapping

import numpy as np
import torch

from kerasette.callbacks import Callback
from kerasette.callbacks.callback import HOOKS
from kerasette.io_utils import atomic_save, safe_load


class FakeOptimizer:
    def __init__(self, lr=0.1, schedule=False):
        self._lr = lr
        self.schedule = schedule
        self.iterations = 0

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        if self.schedule:
            raise TypeError("learning_rate is a schedule")
        self._lr = float(value)

    def get_state(self):
        return {"lr": self._lr, "iterations": torch.tensor(self.iterations)}

    def set_state(self, state):
        self._lr = state["lr"]
        self.iterations = int(state["iterations"])


class FakeModel:
    def __init__(self, lr=0.1):
        self.weights = [np.zeros((2, 3)), np.zeros(3)]
        self.stop_training = False
        self.optimizer = FakeOptimizer(lr)
        self._resume_epoch = None
        self.history = None
        self.rng = torch.Generator().manual_seed(0)
        self.saves = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        if [w.shape for w in weights] != [w.shape for w in self.weights]:
            raise ValueError("weight shapes do not match")
        self.weights = [np.array(w, copy=True) for w in weights]

    def bump(self, value):
        """Pretend a training step happened: every weight becomes `value`."""
        self.weights = [np.full_like(w, value) for w in self.weights]

    def save(self, path):
        atomic_save({"kind": "model", "w": [torch.from_numpy(w) for w in self.weights]}, path)
        self.saves.append(("save", str(path)))

    def save_weights(self, path):
        atomic_save({"kind": "weights", "w": [torch.from_numpy(w) for w in self.weights]}, path)
        self.saves.append(("save_weights", str(path)))

    def load_weights(self, path):
        self.set_weights([w.numpy() for w in safe_load(path)["w"]])

    def get_rng_state(self):
        return {"shuffle": self.rng.get_state()}

    def set_rng_state(self, state):
        self.rng.set_state(state["shuffle"])


class CountingLogs(Mapping):
    """Lazy-logs stand-in: counts how many values were read."""

    def __init__(self, values):
        self.values = dict(values)
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return self.values[key]

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)


class Recorder(Callback):
    """Records (hook, argument) for every hook, in order; the batch logs it is given are copied
    only for the hooks named in `read_logs`."""

    def __init__(self, read_logs=()):
        super().__init__()
        self.calls = []
        self.read_logs = set(read_logs)

    def _record(self, hook, *args):
        self.calls.append((hook, *args))


def _make_hook(name):
    takes_index = name.startswith("on_epoch") or "batch" in name or name == "on_backward_end"

    if takes_index:
        def hook(self, index, logs=None):
            self._record(name, index, dict(logs) if name in self.read_logs and logs else None)
    else:
        def hook(self, logs=None):
            self._record(name, dict(logs) if name in self.read_logs and logs else None)
    hook.__name__ = name
    return hook


for _name in HOOKS:
    setattr(Recorder, _name, _make_hook(_name))


def hook_names(recorder, skip=()):
    return [c[0] for c in recorder.calls if c[0] not in skip]
