"""Learning-rate schedules: Python functions of the step count, evaluated in Python floats.

An optimizer given a schedule uses `schedule(optimizer.iterations)` as the learning rate of each
step (step 0 first), as Keras 3 does. Values are computed in float64 Python arithmetic (Keras
computes them in the float type of `initial_learning_rate`, usually float32), so no tensor
operation and no device synchronisation is spent on the learning rate. Any callable of the step
works too: `SGD(learning_rate=lambda step: 0.1 / (1 + step))`.

    ExponentialDecay        lr0 * decay_rate ** (step / decay_steps)  (ratio floored if staircase)
    InverseTimeDecay        lr0 / (1 + decay_rate * step / decay_steps)  (ratio floored if staircase)
    PolynomialDecay         (lr0 - end) * (1 - step / decay_steps) ** power + end  (optionally cycling)
    PiecewiseConstantDecay  values[i] for boundaries[i-1] < step <= boundaries[i]
    CosineDecay             optional linear warmup, then a half cosine from the peak to alpha * peak
    CosineDecayRestarts     cosine decays restarted with periods growing by t_mul, peaks by m_mul

Formulas, argument names, defaults and config keys are Keras 3.16's
(keras/src/optimizers/schedules/learning_rate_schedule.py). Arguments are checked at construction:
rates are finite and >= 0, step counts > 0, flags are bools (Keras takes `staircase="no"` as True;
here it is a TypeError). The optimizer checks every value a schedule produces as well.
"""

import bisect
import inspect
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


def _number(arg, value, low=None, low_open=False, high=None):
    """`value` after checking it is a finite real number within [low, high] (low excluded with
    low_open); a TypeError / ValueError naming `arg` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {arg}: expected a number, received {type(value).__name__} "
                        f"{value!r}")
    above = low is None or (value > low if low_open else value >= low)
    if not (math.isfinite(value) and above and (high is None or value <= high)):
        span = "" if low is None else f" {'>' if low_open else '>='} {low:g}"
        if high is not None:
            span = f" in [{low:g}, {high:g}]"
        raise ValueError(f"Invalid {arg}: expected a finite number{span}, received {value!r}")
    return value


def _rate(arg, value):
    return _number(arg, value, low=0.0)


def _steps(arg, value):
    return _number(arg, value, low=0.0, low_open=True)


def _flag(arg, value):
    if not isinstance(value, bool):
        raise TypeError(f"Invalid {arg}: expected True or False, received {value!r}")
    return value


def _name(value):
    if not isinstance(value, str):
        raise TypeError(f"Invalid name: expected a string, received {type(value).__name__}")
    return value


class ExponentialDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps).

    With `staircase=True` the exponent is floor(step / decay_steps): it drops every decay_steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = _rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.decay_rate = _rate("decay_rate", decay_rate)  # < 0 would give complex rates
        self.staircase = _flag("staircase", staircase)
        self.name = _name(name)

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
            _rate(f"values[{i}]", v)
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"Invalid boundaries: expected strictly increasing numbers, received "
                             f"{boundaries!r}")
        self.boundaries = boundaries
        self.values = values
        self.name = _name(name)

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
        self.initial_learning_rate = _rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.alpha = _number("alpha", alpha, low=0.0, high=1.0)
        self.name = _name(name)
        self.warmup_target = None if warmup_target is None else _rate("warmup_target",
                                                                       warmup_target)
        self.warmup_steps = _number("warmup_steps", warmup_steps, low=0.0)

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


class InverseTimeDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate / (1 + decay_rate * step / decay_steps).

    With `staircase=True` the ratio step / decay_steps is floored. `InverseTimeDecay(lr, 1, decay)`
    is Keras 2's `decay=` argument of the optimizers: lr / (1 + decay * iterations).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        self.initial_learning_rate = _rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.decay_rate = _rate("decay_rate", decay_rate)  # < 0 would pass through 1 / 0
        self.staircase = _flag("staircase", staircase)
        self.name = _name(name)

    def __call__(self, step) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """lr = (initial_learning_rate - end_learning_rate) * (1 - s / d) ** power + end_learning_rate.

    Without cycle: s = min(step, decay_steps), d = decay_steps (the rate stays at the end value).
    With cycle: s = step, d = decay_steps * ceil(step / decay_steps) (1 at step 0): each time the
    end is reached the decay starts again from a later, lower point.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        self.initial_learning_rate = _rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.end_learning_rate = _rate("end_learning_rate", end_learning_rate)
        self.power = _number("power", power, low=0.0)  # < 0 would be infinite at the end
        self.cycle = _flag("cycle", cycle)
        self.name = _name(name)

    def __call__(self, step) -> float:
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps = decay_steps * (1.0 if step == 0 else math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        delta = self.initial_learning_rate - self.end_learning_rate
        return delta * (1.0 - p) ** self.power + self.end_learning_rate

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR (Loshchilov & Hutter, 2017): cosine decays, each restarted from a lower peak.

    Period i lasts first_decay_steps * t_mul ** i steps and peaks at initial_learning_rate *
    m_mul ** i; within it, at the fraction f of the period done,
        lr = initial_learning_rate * m_mul ** i * ((1 - alpha) * 0.5 * (1 + cos(pi * f)) + alpha).
    With f0 = step / first_decay_steps: t_mul == 1 gives i = floor(f0), f = f0 - i; otherwise
    i = floor(log(1 - f0 * (1 - t_mul)) / log(t_mul)), f = (f0 - (1 - t_mul ** i) / (1 - t_mul))
    / t_mul ** i (Keras's closed form). With t_mul < 1 the periods shrink and sum to
    first_decay_steps / (1 - t_mul) steps; asking for a later step is a ValueError.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        self.initial_learning_rate = _rate("initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = _steps("first_decay_steps", first_decay_steps)
        self.t_mul = _number("t_mul", t_mul, low=0.0, low_open=True)
        self.m_mul = _rate("m_mul", m_mul)
        self.alpha = _number("alpha", alpha, low=0.0, high=1.0)
        self.name = _name(name)

    def __call__(self, step) -> float:
        f = step / self.first_decay_steps
        t_mul = self.t_mul
        if t_mul == 1.0:
            i = math.floor(f)
            f -= i
        else:
            span = 1.0 - f * (1.0 - t_mul)
            if span <= 0:
                raise ValueError(f"Invalid step: CosineDecayRestarts with t_mul={t_mul} has no "
                                 f"period left at step {step} (its periods sum to "
                                 f"{self.first_decay_steps / (1 - t_mul):g} steps)")
            i = math.floor(math.log(span) / math.log(t_mul))
            f = (f - (1.0 - t_mul ** i) / (1.0 - t_mul)) / t_mul ** i
        cosine = 0.5 * self.m_mul ** i * (1.0 + math.cos(math.pi * f))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, InverseTimeDecay, PolynomialDecay, PiecewiseConstantDecay, CosineDecay,
    CosineDecayRestarts)}


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
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise TypeError(f"Invalid schedule config: expected 'config' to be a dict, received "
                        f"{inner!r}")
    try:
        inspect.signature(cls).bind(**inner)
    except TypeError as e:
        raise TypeError(f"Invalid schedule config for {cls.__name__}: {e}; received {inner!r}") \
            from None
    return cls.from_config(dict(inner))
