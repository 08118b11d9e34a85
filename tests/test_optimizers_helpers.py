"""Shared helpers for the optimizer tests (no tests here): weights, gradients, and Keras 3's update
rules written plainly and independently of kerasette (from keras/src/optimizers/*.py and
base_optimizer.py), per weight, with Python operators."""

import math

import torch

from kerasette.layers.base import Weight

DT = torch.float64
SHAPES = [(3, 4), (4,), (4, 2), (2,)]
FROZEN_AT = 2  # a frozen (2, 2) weight is inserted at this position

# (id, kerasette kwargs) for every update-rule variant.
SPECS = [
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"learning_rate": 0.1}),
    ("adagrad", {"learning_rate": 0.1, "epsilon": 1e-3}),  # large: epsilon placement shows
    ("rmsprop", {"learning_rate": 0.01}),
    ("rmsprop", {"learning_rate": 0.01, "epsilon": 1e-3}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("adam", {"learning_rate": 0.01}),
    ("adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("adam", {"learning_rate": 0.01, "epsilon": 1e-3}),
    ("adamw", {"learning_rate": 0.01}),
]
CLIPS = [{}, {"clipnorm": 1.0}, {"clipvalue": 0.5}, {"global_clipnorm": 2.0}]


def spec_id(spec) -> str:
    name, kw = spec
    return name + "".join(f"-{k}={v}" for k, v in kw.items() if k != "learning_rate")


def make_weights(seed=0, shapes=SHAPES, frozen=True):
    """Weights with random values (float64); a frozen one at FROZEN_AT with a nonzero gradient."""
    gen = torch.Generator().manual_seed(seed)
    ws = [Weight(torch.randn(s, generator=gen, dtype=DT), f"w{i}") for i, s in enumerate(shapes)]
    if frozen:
        f = Weight(torch.randn(2, 2, generator=gen, dtype=DT), "frozen", trainable=False)
        f.grad.fill_(1.0)
        ws.insert(FROZEN_AT, f)
    return ws


def gradient_stream(shapes, seed=1):
    """Endless list-of-gradients generator; each step's scale varies so clipping is sometimes
    active and sometimes not."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        scale = float(torch.empty(()).uniform_(0.05, 3.0, generator=gen))
        yield [scale * torch.randn(s, generator=gen, dtype=DT) for s in shapes]


def exponential(lr0):
    """A schedule written by hand: lr0 * 0.5 ** (t / 5) (ExponentialDecay(lr0, 5, 0.5))."""
    return lambda t: lr0 * 0.5 ** (t / 5)


class KerasReference:
    """Keras 3's optimizers, plainly: one list of weight tensors, one step at a time."""

    def __init__(self, kind, learning_rate, lr_fn=None, momentum=0.0, nesterov=False,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, rho=0.9, centered=False,
                 initial_accumulator_value=0.1, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
        self.kind, self.lr0, self.lr_fn = kind, learning_rate, lr_fn
        self.momentum, self.nesterov = momentum, nesterov
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        self.rho, self.centered, self.init_acc = rho, centered, initial_accumulator_value
        self.weight_decay = 0.004 if kind == "adamw" and weight_decay is None else weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.iterations = 0
        self.state = None

    def clip(self, gs):
        if self.clipnorm:
            c = self.clipnorm
            return [g * c / max(math.sqrt(float((g * g).sum())), c) for g in gs]
        if self.global_clipnorm:
            c = self.global_clipnorm
            n = math.sqrt(sum(float((g * g).sum()) for g in gs))
            return [g * (c * min(1 / n, 1 / c)) for g in gs]
        if self.clipvalue:
            return [g.clamp(-self.clipvalue, self.clipvalue) for g in gs]
        return gs

    def step(self, ws, gs):
        """Return the new weights (a new list) after one step with gradients gs."""
        lr = self.lr_fn(self.iterations) if self.lr_fn else self.lr0
        if self.state is None:
            acc = self.init_acc if self.kind == "adagrad" else 0.0
            self.state = [{k: torch.full_like(w, acc) for k in "mvahs"} for w in ws]
        gs = self.clip(gs)
        if self.weight_decay:
            ws = [w - w * self.weight_decay * lr for w in ws]
        out = [getattr(self, "_" + self.kind.replace("adamw", "adam"))(w, g, s, lr)
               for w, g, s in zip(ws, gs, self.state)]
        self.iterations += 1
        return out

    def _sgd(self, w, g, s, lr):
        if self.momentum == 0:
            return w - g * lr
        s["m"] = s["m"] * self.momentum - g * lr
        if self.nesterov:
            return w + (s["m"] * self.momentum - g * lr)
        return w + s["m"]

    def _adagrad(self, w, g, s, lr):
        s["a"] = s["a"] + g * g
        return w - lr * g / torch.sqrt(s["a"] + self.epsilon)

    def _rmsprop(self, w, g, s, lr):
        s["v"] = self.rho * s["v"] + (1 - self.rho) * g * g
        if self.centered:
            s["a"] = self.rho * s["a"] + (1 - self.rho) * g
            denominator = s["v"] - s["a"] * s["a"] + self.epsilon
        else:
            denominator = s["v"] + self.epsilon
        increment = lr * g / torch.sqrt(denominator)
        if self.momentum > 0:
            s["h"] = self.momentum * s["h"] + increment
            return w - s["h"]
        return w - increment

    def _adam(self, w, g, s, lr):
        t = self.iterations + 1
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        s["m"] = s["m"] + (g - s["m"]) * (1 - self.beta_1)
        s["v"] = s["v"] + (g * g - s["v"]) * (1 - self.beta_2)
        v = s["v"]
        if self.amsgrad:
            s["h"] = torch.maximum(s["h"], s["v"])
            v = s["h"]
        return w - (s["m"] * alpha) / (torch.sqrt(v) + self.epsilon)


def run_kerasette(opt, ws, grads, steps, twin=False):
    """Build `opt` on `ws` and apply `steps` steps with gradients from the `grads` generator."""
    opt.build(ws)
    trainable = [w for w in ws if w.trainable]
    for _ in range(steps):
        for w, g in zip(trainable, next(grads)):
            w.grad.copy_(g)
        if twin:
            opt.step_per_weight()
        else:
            opt.step()
    return [w.value.clone() for w in trainable]
