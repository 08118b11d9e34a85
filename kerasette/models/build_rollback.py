"""An unbuilt model that a call builds on its first data, and that then fails before any training
step, goes back to unbuilt: a `fit` refused because of its `y` must not leave the model built for
that call's `x` (the next, corrected call would be refused for the input shape).

`keeps_unbuilt_on_error` wraps fit / evaluate / predict / train_on_batch / test_on_batch. On an
already built model it costs one attribute read. On an unbuilt one it takes a shallow snapshot of the
attributes of the model, its layers and its optimizer (lists and dicts copied one level, since
building appends weights to them) and puts them back if the call raises before the optimizer
applied a step; after a step, training happened and the built model stays.
"""

import functools


def _snapshot(obj) -> dict:
    return {k: (v.copy() if isinstance(v, (list, dict)) else v) for k, v in vars(obj).items()}


def _restore(obj, saved: dict) -> None:
    state = vars(obj)
    state.clear()
    state.update(saved)


def keeps_unbuilt_on_error(method):
    @functools.wraps(method)
    def wrapper(model, *args, **kwargs):
        if model.built:
            return method(model, *args, **kwargs)
        objects = _layers_within(model)
        if model.optimizer is not None:
            objects.append(model.optimizer)
        saved = [(obj, _snapshot(obj)) for obj in objects]
        buffer = getattr(model.optimizer, "buffer", None)
        try:
            return method(model, *args, **kwargs)
        except BaseException:
            if model.built and not _stepped(model.optimizer, buffer):
                for obj, state in saved:
                    _restore(obj, state)
            raise
    return wrapper


def _layers_within(model) -> list:
    """`model` and every layer reachable from it: its `layers`, and layers held in attributes
    (a subclassed model's layers are listed only once `call` is traced, at build)."""
    from ..layers.base import Layer

    found, stack = {}, [model]
    while stack:
        obj = stack.pop()
        if id(obj) in found:
            continue
        found[id(obj)] = obj
        children = list(getattr(obj, "layers", []) if obj is model else [])
        for value in vars(obj).values():
            items = value.values() if isinstance(value, dict) else \
                value if isinstance(value, (list, tuple)) else (value,)
            children.extend(v for v in items if isinstance(v, Layer))
        stack.extend(c for c in children if id(c) not in found)
    return list(found.values())


def _stepped(optimizer, buffer_before) -> bool:
    """Did `optimizer` apply a step to weights built during the call? (Building it for new weights
    gives it a new buffer and resets its step count.)"""
    if optimizer is None or getattr(optimizer, "buffer", None) is buffer_before:
        return False
    return getattr(optimizer, "iterations", 0) > 0
