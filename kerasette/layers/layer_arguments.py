"""The layer protocol's argument handling: a subclass's `build` made to run once
(`_build_once`), inputs given positionally (`_positional_inputs`), Keras 2's `input_dim`, the
`dtype` argument, and the per-sample shape check."""

import functools
import re

import torch

from .. import config


def _build_once(build):
    """`build` that runs once per layer and then finishes it (`Layer._finish_build`); a build
    calling its parent's build (super().build) finishes only when the outermost one returns."""
    @functools.wraps(build)
    def wrapper(self, input_shape, *args, **kwargs):
        if self.built:
            return
        outer = not self.__dict__.get("_building", False)
        self._building = True
        try:
            build(self, input_shape, *args, **kwargs)
        finally:
            if outer:
                self._building = False
        if outer and not self.built:
            self._finish_build(input_shape)
    return wrapper


def _positional_inputs(layer, x, args: tuple, training):
    """`(inputs, training)` from `layer(x, *args, training=...)`: no args, or one bool (or None),
    leave x as it is; tensors after x make the list [x, *args] (trailing Nones, a call's unset
    optional arguments, dropped)."""
    if not args:
        return x, training
    if len(args) == 1 and (args[0] is None or isinstance(args[0], (bool, int))):
        return x, bool(args[0])
    inputs = [x, *args]
    while inputs[-1] is None:
        inputs.pop()
    if any(t is None or isinstance(t, bool) for t in inputs):
        raise TypeError(f"Invalid arguments: layer '{layer.name}' takes its inputs as positional "
                        f"arguments and `training` as a keyword, received {[x, *args]!r:.200}")
    return (inputs if len(inputs) > 1 else inputs[0]), training


def _input_dim_as_shape(input_dim, input_shape):
    """Keras 2's `input_dim=n` as `input_shape=(n,)` (both given: they must agree)."""
    if input_dim is None:
        return input_shape
    if isinstance(input_dim, bool) or not isinstance(input_dim, int) or input_dim < 1:
        raise ValueError(f"Invalid input_dim: expected a positive int (the number of input "
                         f"features), received {input_dim!r}")
    if input_shape is not None and tuple(input_shape) != (input_dim,):
        raise ValueError(f"Invalid input_dim: input_dim={input_dim} and input_shape="
                         f"{tuple(input_shape)} disagree; give one of them")
    return (input_dim,)


def _check_dtype(dtype) -> None:
    if dtype is None:
        return
    name = str(dtype).replace("torch.", "") if isinstance(dtype, (str, torch.dtype)) else None
    if name != config.floatx():
        raise ValueError(f"Invalid dtype: kerasette layers use ks.config.floatx() "
                         f"({config.floatx()!r}) for all weights, received {dtype!r}; call "
                         f"ks.config.set_floatx({name or 'float64'!r}) before building the "
                         f"model instead")


def _mismatch(expected: tuple, received: tuple) -> bool:
    """True when per-sample shapes differ (None in `expected` matches any size)."""
    if len(expected) != len(received):
        return True
    return any(e is not None and e != r for e, r in zip(expected, received))


def _snake(name: str) -> str:
    """Keras's default-name rule: "Dense" -> "dense", "LeakyReLU" -> "leaky_re_lu", "GELU" -> "gelu"."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
