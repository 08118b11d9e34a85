"""Learning-rate schedules: Python functions of the step count, evaluated in Python floats.

An optimizer given a schedule uses `schedule(optimizer.iterations)` as the learning rate of each
step (step 0 first), as Keras 3 does. Values are computed in float64 Python arithmetic (Keras
computes them in the float type of `initial_learning_rate`, usually float32), so no tensor
operation and no device synchronisation is spent on the learning rate. Any callable of the step
works too: `SGD(learning_rate=lambda step: 0.1 / (1 + step))`.

    ExponentialDecay        lr0 * decay_rate ** (step / decay_steps)  (ratio floored if staircase)
    PiecewiseConstantDecay  values[i] for boundaries[i-1] < step <= boundaries[i]
    CosineDecay             optional linear warmup, then a half cosine from the peak to alpha * peak
"""

import bisect
import math
import numbers

from ..serialization import class_config


class LearningRateSchedule:
    """Base class: `__call__(step) -> float` and `get_config()` (for saving)."""

    def __call__(self, step) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _number(arg, value, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {arg}: expected a number, received {type(value).__name__} "
                        f"{value!r}")
    if math.isnan(value) or (positive and not value > 0):
        raise ValueError(f"Invalid {arg}: expected a number{' > 0' if positive else ''}, "
                         f"received {value!r}")
    return value


class ExponentialDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps).

    With `staircase=True` the exponent is floor(step / decay_steps): it drops every decay_steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True)
        self.decay_rate = _number("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] once step > boundaries[-1]. Boundaries must increase strictly."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"Invalid boundaries/values: expected one more value than boundaries, "
                             f"received {len(boundaries)} boundaries and {len(values)} values")
        for i, b in enumerate(boundaries):
            _number(f"boundaries[{i}]", b)
        for i, v in enumerate(values):
            _number(f"values[{i}]", v)
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"Invalid boundaries: expected strictly increasing numbers, received "
                             f"{boundaries!r}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step) -> float:
        # bisect_left counts the boundaries strictly below step: that is the interval's index.
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self) -> dict:
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (Keras 3's formulas).

    Without warmup_target:  s = min(step, decay_steps)
        lr = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)
    With warmup_target:     s = min(step, warmup_steps + decay_steps)
        s < warmup_steps:   lr = initial_learning_rate
                                 + (warmup_target - initial_learning_rate) * s / warmup_steps
        otherwise:          the cosine above from warmup_target, at s - warmup_steps
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True)
        self.alpha = _number("alpha", alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else _number("warmup_target",
                                                                         warmup_target)
        self.warmup_steps = _number("warmup_steps", warmup_steps)
        if self.warmup_steps < 0:
            raise ValueError(f"Invalid warmup_steps: expected a number >= 0, received "
                             f"{warmup_steps!r}")

    def _decay(self, step, peak) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return peak * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step) -> float:
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (step / self.warmup_steps) + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """{"class_name": ..., "config": ...} (JSON-friendly, as Keras writes it)."""
    return class_config(schedule, LearningRateSchedule, "schedule", "a LearningRateSchedule")


def deserialize(config: dict) -> LearningRateSchedule:
    """Inverse of `serialize` for the built-in schedules."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"Invalid schedule config: expected a dict with 'class_name' and 'config', "
                        f"received {config!r}")
    cls = _SCHEDULES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Invalid schedule config: unknown class_name {config['class_name']!r}; "
                         f"expected one of {sorted(_SCHEDULES)}")
    return cls.from_config(dict(config.get("config", {})))
