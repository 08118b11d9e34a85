"""The optimizer base: flat-buffer step, readable per-weight twin, learning rate, state, config.

Every optimizer updates all trainable weights at once through two flat tensors (`kerasette.flat`):

    params: [ W1 | b1 | W2 | b2 | ... ]        grads: [ dW1 | db1 | dW2 | db2 | ... ]

and keeps its state ("slots": momenta, second moments) as flat tensors of the same length. One step
follows Keras 3's order, for the step count t = iterations (0-based) and lr = learning rate at t:

    1. clip the gradients in place      clipvalue, clipnorm (per weight) or global_clipnorm
    2. decoupled weight decay           w <- w - lr * weight_decay * w        (if weight_decay)
    3. the optimizer's own update       subclass `_update_flat(params, grads, lr)`
    4. iterations <- iterations + 1

`step()` does this with a handful of tensor operations on the flat tensors whatever the number of
weights, with no device synchronisation (the learning rate and the bias corrections are Python
floats, clipping scales stay tensors). `step_per_weight()` is its readable twin: the same update
written per weight (`_update_weight(w, dw, slots, lr)`), the spec that the flat path must
reproduce exactly (tests/test_optimizers_twin.py); it works on the same state, so the two can be
mixed.
"""

import inspect

import torch

from ..flat import pack
from . import clipping
from . import schedules as schedules_mod
from .arguments import _KERAS_ONLY_DEFAULTS, _check_kwargs, check_number
from .learning_rate import LearningRate, check_rate

_LR_RENAMED = ("Keras 3 renamed optimizer.lr to optimizer.learning_rate (read it with "
               "float(...) or .numpy(), set it with .assign(value) or "
               "ks.backend.set_value(optimizer.learning_rate, value))")



class Optimizer:
    """Base class: subclasses define `_slot_inits`, `_update_flat` and `_update_weight`.

    Args (Keras 3 names and meanings):
        learning_rate: float >= 0, a `schedules.LearningRateSchedule`, or a callable of the step
            (a callable taking no argument is called without one, as in Keras). Every value a
            schedule or callable gives is checked (finite, >= 0) before its step. Read back,
            `optimizer.learning_rate` is a Keras-variable-like `LearningRate` (float(), .numpy(),
            .assign(); see learning_rate.py).
        **kwargs: Keras-only arguments at their defaults (use_ema=False, ...) are accepted; Keras 2's
            lr= and decay= are refused with the Keras 3 spelling.
        weight_decay: None or float >= 0. Decoupled decay `w <- w - lr * weight_decay * w` before
            the update, for every optimizer (Keras's convention; PyTorch's SGD, Adam, RMSprop
            and Adagrad instead add `weight_decay * w` to the gradient; AdamW decays like Keras).
        clipnorm: None or float > 0. Each weight's gradient is rescaled so that its own L2 norm is
            at most clipnorm: g <- g * clipnorm / max(||g||, clipnorm).
        clipvalue: None or float > 0. Each gradient entry is clipped to [-clipvalue, clipvalue].
        global_clipnorm: None or float > 0. All gradients are rescaled together so that the norm of
            all of them laid end to end is at most global_clipnorm.
        name: string.
    At most one of clipnorm, clipvalue, global_clipnorm may be set. Clipping happens in place on
    the gradient buffer (as torch's `clip_grad_norm_` does), so a callback reading gradients after
    the step sees the clipped values. A zero clip value is rejected (Keras silently ignores it):
    use None.
    """

    _default_name = "optimizer"
    # Fixed hyperparameters that `_update_flat` uses as 0-d tensors (`self._c[name]`, same dtype and
    # device as the weights): on a small net `v.mul_(0.9)` with a Python number costs 2-4 µs more than
    # with a 0-d tensor, a third of a whole Adam step. Values that change every step (learning rate,
    # bias corrections) go through Scalar arguments instead (alpha=, value=, lerp's weight).
    _tensor_constants: tuple = ()

    _lr_low_open = False  # True: the rate must be > 0 (Ftrl divides by it)

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        _check_kwargs(type(self).__name__, kwargs)
        self._set_learning_rate(learning_rate)
        self.weight_decay = check_number("weight_decay", weight_decay, low=0.0, optional=True)
        self.clipnorm = check_number("clipnorm", clipnorm, low=0.0, low_open=True, optional=True)
        self.clipvalue = check_number("clipvalue", clipvalue, low=0.0, low_open=True, optional=True)
        self.global_clipnorm = check_number("global_clipnorm", global_clipnorm, low=0.0,
                                            low_open=True, optional=True)
        clip_args = {"clipnorm": clipnorm, "clipvalue": clipvalue,
                     "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clip_args.values()) > 1:
            given = ", ".join(f"{k}={v!r}" for k, v in clip_args.items() if v is not None)
            raise ValueError(f"Invalid clipping: expected at most one of clipnorm, clipvalue and "
                             f"global_clipnorm, received {given}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Invalid name: expected a string, received {type(name).__name__}")
        self.name = name if name is not None else self._default_name
        self.iterations = 0  # number of steps applied
        self.buffer = None  # the FlatBuffer of the trainable weights, set by build
        self._weights: list = []
        self._slots: dict[str, torch.Tensor] = {}

    # ----- hooks for subclasses ----------------------------------------------------------------
    def _slot_inits(self) -> dict:
        """Name -> initial value of each flat state tensor this optimizer keeps (Keras's names)."""
        return {}

    def _needs_scratch(self) -> int:
        """How many reusable tensors like `params` `_update_flat` uses (True = 1): `self._scratch`
        is the first, `self._scratches` lists them all."""
        return 0

    def _update_flat(self, params: torch.Tensor, grads: torch.Tensor, lr: float) -> None:
        """Apply the update to the flat tensors (slots in `self._slots`); subclasses override."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update_flat")

    def _update_weight(self, w: torch.Tensor, dw: torch.Tensor, slots: dict, lr: float) -> None:
        """The readable twin: update one weight `w` from its gradient `dw` and its `slots` views."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update_weight")

    # ----- building ------------------------------------------------------------------------------
    def build(self, weights) -> None:
        """Pack the trainable `weights` into one flat buffer and create the flat state.

        Frozen weights (`trainable=False`) are left out and never changed. Building again with the
        same trainable weights (in the same order) keeps the state; other weights start a fresh
        state (slots at their initial values, iterations 0).
        """
        weights = list(weights)
        trainable = [w for w in weights if w.trainable]
        if not trainable:
            raise ValueError(f"Invalid weights: optimizer '{self.name}' has no trainable weights "
                             f"to optimize (received {len(weights)} weights, none trainable)")
        same = (self.buffer is not None and len(trainable) == len(self._weights)
                and all(a is b for a, b in zip(trainable, self._weights)))
        if same:
            self._sync()
            return
        self.buffer = pack(trainable)
        self._weights = trainable
        params = self.buffer.params
        self._slots = {k: torch.full_like(params, v) for k, v in self._slot_inits().items()}
        self._set_scratches([torch.empty_like(params) for _ in range(int(self._needs_scratch()))])
        self.iterations = 0
        self._refresh_views()

    def __setattr__(self, name, value):
        if name == "lr":
            raise AttributeError(_LR_RENAMED)
        object.__setattr__(self, name, value)
        if name in self._tensor_constants and getattr(self, "buffer", None) is not None:
            self._make_constants()  # a hyperparameter changed after build: keep the flat path in step

    def __getattr__(self, name):
        if name == "lr":
            raise AttributeError(_LR_RENAMED)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _make_constants(self) -> None:
        params = self.buffer.params
        self._c = {k: torch.tensor(getattr(self, k), dtype=params.dtype, device=params.device)
                   for k in self._tensor_constants}

    def _refresh_views(self) -> None:
        """Cache per-weight views of the flat tensors (clipping and the twin use them)."""
        buf = self.buffer
        self._params = buf.params
        self._make_constants()
        self._grad_views = [buf.grads[a:b] for _, a, b in buf.slices()]
        self._slot_views = [{k: s[a:b].view(w.shape) for k, s in self._slots.items()}
                            for w, a, b in buf.slices()]

    def _sync(self) -> None:
        """Follow the weights if their buffer was moved or re-packed: state goes with params."""
        first = self._weights[0]
        if first._buffer is not self.buffer:
            buf = first._buffer
            if buf is None or len(buf.weights) != len(self._weights) or any(
                    a is not b for a, b in zip(buf.weights, self._weights)):
                raise RuntimeError(f"Optimizer '{self.name}': its weights were re-packed with "
                                   f"other weights; call build(weights) again")
            self.buffer = buf
        params = self.buffer.params
        self._move_state(params.device, params.dtype)

    def _set_scratches(self, scratches: list) -> None:
        self._scratches = scratches
        self._scratch = scratches[0] if scratches else None

    def _move_state(self, device, dtype) -> None:
        self._slots = {k: s.to(device=device, dtype=dtype) for k, s in self._slots.items()}
        self._set_scratches([t.to(device=device, dtype=dtype) for t in self._scratches])
        self._refresh_views()

    def to(self, device=None, dtype=None) -> "Optimizer":
        """Move the state to `device` / `dtype` (after moving the weights; see also `_sync`)."""
        if self.buffer is not None:
            self._move_state(device, dtype)
        return self

    def _require_built(self, what: str) -> None:
        if self.buffer is None:
            raise RuntimeError(f"Optimizer '{self.name}' is not built: call build(weights) before "
                               f"{what}()")

    # ----- stepping ------------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set every trainable weight's gradient to zero (one operation on the flat buffer)."""
        self._require_built("zero_grad")
        self.buffer.grads.zero_()

    def step(self) -> None:
        """Apply the gradients now in the buffer: clip, decay, update (flat path)."""
        buf = self.buffer
        if buf is None:
            self._require_built("step")
        if self._weights[0]._buffer is not buf or buf.params is not self._params:
            self._sync()
            buf = self.buffer
        lr = self._lr if self._lr_fn is None else self._lr_at(self.iterations)
        params, grads = buf.params, buf.grads
        if self.clipvalue is not None:
            clipping.clip_by_value(grads, self.clipvalue)
        elif self.clipnorm is not None:
            clipping.clip_by_norm_per_weight(self._grad_views, self.clipnorm)
        elif self.global_clipnorm is not None:
            clipping.clip_by_global_norm(grads, self.global_clipnorm)
        if self.weight_decay:
            params.add_(params, alpha=-lr * self.weight_decay)
        self._update_flat(params, grads, lr)
        self.iterations += 1

    def step_per_weight(self) -> None:
        """The readable twin of `step`: the same update, one weight at a time."""
        self._require_built("step_per_weight")
        if self._weights[0]._buffer is not self.buffer or self.buffer.params is not self._params:
            self._sync()
        lr = self._current_lr()
        grads = [w.grad for w in self._weights]
        if self.clipvalue is not None:
            clipping.clip_by_value_readable(grads, self.clipvalue)
        elif self.clipnorm is not None:
            clipping.clip_by_norm_per_weight_readable(grads, self.clipnorm)
        elif self.global_clipnorm is not None:
            clipping.clip_by_global_norm_readable(grads, self.global_clipnorm)
        for w, slots in zip(self._weights, self._slot_views):
            if self.weight_decay:
                w.value.add_(w.value, alpha=-lr * self.weight_decay)  # w <- w - lr * wd * w
            self._update_weight(w.value, w.grad, slots, lr)
        self.iterations += 1

    # ----- learning rate -------------------------------------------------------------------------
    def _set_learning_rate(self, value) -> None:
        if isinstance(value, schedules_mod.LearningRateSchedule) or callable(value):
            self._lr, self._lr_fn = None, value
            self._lr_takes_step = isinstance(value, schedules_mod.LearningRateSchedule) or \
                _takes_an_argument(value)
        else:
            self._lr = check_rate("learning_rate", value, low_open=self._lr_low_open)
            self._lr_fn = None

    def _lr_at(self, step: int) -> float:
        """The schedule's (or callable's) rate at `step`, checked as a float rate is: a finite
        real number >= 0, else a ValueError / TypeError before the step changes anything."""
        fn = self._lr_fn
        value = fn(step) if self._lr_takes_step else fn()
        try:
            return check_rate("learning_rate", value, low_open=self._lr_low_open)
        except (TypeError, ValueError) as e:
            source = type(fn).__name__ if isinstance(fn, schedules_mod.LearningRateSchedule) \
                else f"the callable {getattr(fn, '__name__', type(fn).__name__)}"
            low = "> 0" if self._lr_low_open else ">= 0"
            raise type(e)(f"Invalid learning_rate: {source} gave {value!r} at step {step}; "
                          f"expected a finite real number {low} (optimizer '{self.name}', "
                          f"no step applied)") from None

    def _current_lr(self) -> float:
        """The rate of the next step, as a Python float."""
        return self._lr if self._lr_fn is None else self._lr_at(self.iterations)

    @property
    def learning_rate(self) -> LearningRate:
        """The learning rate of the next step, as a Keras variable-like scalar (see
        `learning_rate.py`): `float()`, `.numpy()`, `.assign()`, arithmetic. With a schedule it
        is a read-only snapshot of the schedule's value at `iterations`."""
        if self._lr_fn is not None:
            return LearningRate(self, snapshot=self._lr_at(self.iterations))
        view = self.__dict__.get("_lr_view")
        if view is None:
            view = self._lr_view = LearningRate(self)
        return view

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        """Set a float (as callbacks do), or replace the schedule / callable."""
        is_schedule = isinstance(value, schedules_mod.LearningRateSchedule) or callable(value)
        if self._lr_fn is not None and not is_schedule:
            raise TypeError(f"Invalid learning_rate: optimizer '{self.name}' was created with a "
                            f"schedule ({type(self._lr_fn).__name__}), so its learning rate cannot "
                            f"be set to a number ({value!r}); create it with a float learning_rate "
                            f"to make it settable")
        self._set_learning_rate(value)

    # ----- state ---------------------------------------------------------------------------------
    def get_state(self) -> dict:
        """Everything needed to resume exactly: slots (flat copies), iterations, learning rate.

        Only tensors, numbers, strings, None, lists and dicts, so `torch.save` / `torch.load(...,
        weights_only=True)` can store it. A plain callable learning rate is stored as None.
        """
        self._require_built("get_state")
        return {
            "class_name": type(self).__name__,
            "iterations": int(self.iterations),
            "learning_rate": self._learning_rate_config(for_state=True),
            "num_params": len(self.buffer),
            "slots": {k: s.detach().clone() for k, s in self._slots.items()},
        }

    def set_state(self, state: dict) -> None:
        """Restore `get_state()` output (after build); all is checked before anything changes."""
        self._require_built("set_state")
        if not isinstance(state, dict):
            raise TypeError(f"Invalid state: expected a dict from get_state(), received "
                            f"{type(state).__name__}")
        name = type(self).__name__
        if state.get("class_name") != name:
            raise ValueError(f"Invalid state: expected the state of a {name}, received one of "
                             f"{state.get('class_name')!r}")
        slots = state.get("slots")
        if not isinstance(slots, dict) or set(slots) != set(self._slots):
            got = sorted(slots) if isinstance(slots, dict) else slots
            raise ValueError(f"Invalid state: {name} '{self.name}' expects slots "
                             f"{sorted(self._slots)}, received {got!r}")
        n = len(self.buffer)
        for k, s in slots.items():
            if not isinstance(s, torch.Tensor) or s.numel() != n:
                got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(f"Invalid state: slot '{k}' must be a tensor of {n} values "
                                 f"(the optimizer's trainable parameters), received {got}")
        iterations = state.get("iterations")
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
            raise ValueError(f"Invalid state: iterations must be an int >= 0, received "
                             f"{iterations!r}")
        lr = state.get("learning_rate")
        if isinstance(lr, dict):
            lr = schedules_mod.deserialize(lr)
        elif lr is not None:
            lr = check_number("learning_rate", lr, low=0.0)
        for k, s in slots.items():
            self._slots[k].copy_(s.reshape(-1))
        self.iterations = iterations
        if lr is not None:
            self._set_learning_rate(lr)

    # ----- config --------------------------------------------------------------------------------
    def _learning_rate_config(self, for_state: bool = False):
        if self._lr_fn is None:
            return self._lr
        if isinstance(self._lr_fn, schedules_mod.LearningRateSchedule):
            return schedules_mod.serialize(self._lr_fn)
        return None if for_state else self._lr_fn

    def get_config(self) -> dict:
        """Constructor arguments (Keras's keys). A schedule is serialized as a dict; a plain
        callable learning rate is returned as is (it cannot be written to JSON)."""
        return {
            "name": self.name,
            "learning_rate": self._learning_rate_config(),
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        """Rebuild from `get_config()` output (also Keras configs that only use defaults)."""
        if not isinstance(config, dict):
            raise TypeError(f"Invalid config: expected a dict, received {type(config).__name__}")
        config = dict(config)
        for key, default in _KERAS_ONLY_DEFAULTS.items():
            if key in config:
                value = config.pop(key)
                if value != default:
                    raise ValueError(f"Invalid config: kerasette does not support {key}; expected "
                                     f"{default!r}, received {value!r}")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_mod.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        built = f", {len(self.buffer)} params" if self.buffer is not None else ""
        return f"<{type(self).__name__} name={self.name} iterations={self.iterations}{built}>"


def _takes_an_argument(fn) -> bool:
    """True if `fn` can be called with one positional argument (the step)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL):
            return True
    return False
