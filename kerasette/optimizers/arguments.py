"""The argument checks every optimizer shares: numbers and bools with their ranges, and the keyword
arguments of Keras (Keras-only ones accepted at their defaults, Keras 2 spellings refused with the
Keras 3 way of saying the same thing). Each raises a TypeError / ValueError naming the argument."""

import math
import numbers

# Keras optimizer arguments that kerasette does not implement; a config from Keras may carry them at
# their default values (dropped silently by `from_config`), anything else is an error.
_KERAS_ONLY_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                        "loss_scale_factor": None, "gradient_accumulation_steps": None}

# Keras 2 spellings that Keras 3 removed: refused with the Keras 3 way of saying the same thing.
_REMOVED = {
    "lr": "Keras 3 renamed it: use learning_rate={value!r}",
    "decay": "Keras 3 removed it; Keras 2's lr / (1 + decay * iterations) is "
             "learning_rate=ks.optimizers.schedules.InverseTimeDecay(<learning rate>, "
             "decay_steps=1, decay_rate={value!r})",
    "schedule_decay": "Keras 3's Nadam has no schedule_decay (its momentum schedule is fixed)",
}


def _check_kwargs(owner: str, kwargs: dict) -> None:
    """Refuse keyword arguments kerasette does not take, naming the Keras 3 spelling where Keras 2
    had one; Keras-only arguments are accepted at their default values (they change nothing)."""
    for key, value in kwargs.items():
        if key == "decay" and (value is None or value == 0):
            continue  # Keras 2's default: no decay
        if key in _REMOVED:
            raise TypeError(f"Invalid argument {key}={value!r} for {owner}: "
                            + _REMOVED[key].format(value=value))
        if key in _KERAS_ONLY_DEFAULTS:
            if value != _KERAS_ONLY_DEFAULTS[key]:
                raise ValueError(f"Invalid {key}: kerasette does not support it; expected "
                                 f"{_KERAS_ONLY_DEFAULTS[key]!r}, received {value!r}")
            continue
        raise TypeError(f"Invalid argument {key}={value!r}: {owner} takes no argument {key!r}")


def check_number(arg: str, value, low: float, high=None, low_open=False, high_open=False,
                 optional=False):
    """Return `value` as a float after checking its type and range (finite, >= low or > low, and
    <= high or < high), else raise a TypeError / ValueError naming `arg` and the value."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {arg}: expected a float, received {type(value).__name__} "
                        f"{value!r}")
    value = float(value)
    above = value > low if low_open else value >= low
    below = high is None or (value < high if high_open else value <= high)
    if not (math.isfinite(value) and above and below):
        if high is None:
            span = f"{'>' if low_open else '>='} {low:g}"
        else:
            span = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        extra = " (or None)" if optional else ""
        raise ValueError(f"Invalid {arg}: expected a float {span}{extra}, received {value!r}")
    return value


def check_bool(arg: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"Invalid {arg}: expected True or False, received {value!r}")
    return value
