"""Reading and setting the optimizer's learning rate, for the callbacks that steer it."""

import math
import numbers


def get_lr(model, owner: str) -> float:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{owner} needs a compiled model whose optimizer has a learning_rate")
    return float(optimizer.learning_rate)


def set_lr(model, value, owner: str) -> float:
    """Set the learning rate to `value` (a finite number >= 0); returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid learning rate from {owner}: expected a finite float >= 0, "
                         f"received {value!r}")
    try:
        model.optimizer.learning_rate = float(value)
    except TypeError as e:
        raise TypeError(f"{owner} cannot change the learning rate of an optimizer that uses a "
                        f"learning-rate schedule; use a float learning_rate ({e})") from e
    return float(value)


def check_settable(model, owner: str) -> None:
    """Fail at the start of training, not epochs later, if the rate cannot be set (a schedule)."""
    set_lr(model, get_lr(model, owner), owner)
