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
    ("adadelta", {"learning_rate": 1.0, "rho": 0.95}),
    ("adadelta", {"learning_rate": 0.5, "rho": 0.9, "epsilon": 1e-3}),
    ("adamax", {"learning_rate": 0.01}),
    ("adamax", {"learning_rate": 0.01, "epsilon": 1e-3}),
    ("nadam", {"learning_rate": 0.01}),
    ("lion", {"learning_rate": 0.001, "beta_2": 0.99}),
    ("lamb", {"learning_rate": 0.01}),
    ("ftrl", {"learning_rate": 0.1}),
    ("ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
              "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.03,
              "beta": 0.1}),
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
                 global_clipnorm=None, learning_rate_power=-0.5, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0):
        self.kind, self.lr0, self.lr_fn = kind, learning_rate, lr_fn
        self.momentum, self.nesterov = momentum, nesterov
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        self.rho, self.centered, self.init_acc = rho, centered, initial_accumulator_value
        self.weight_decay = 0.004 if kind == "adamw" and weight_decay is None else weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.lr_power, self.l1 = learning_rate_power, l1_regularization_strength
        self.l2, self.l2_shrink = l2_regularization_strength, l2_shrinkage_regularization_strength
        self.beta = beta
        self.u_product = 1.0  # Nadam's running product of momentum-cache values
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
            acc = self.init_acc if self.kind in ("adagrad", "ftrl") else 0.0
            self.state = [{"m": torch.zeros_like(w), "v": torch.zeros_like(w),
                           "a": torch.full_like(w, acc), "h": torch.zeros_like(w),
                           "s": torch.zeros_like(w)} for w in ws]
        gs = self.clip(gs)
        if self.weight_decay:
            ws = [w - w * self.weight_decay * lr for w in ws]
        if self.kind == "nadam":  # once per step, before the variables (Keras's _backend_update_step)
            self.u_product *= self.beta_1 * (1.0 - 0.5 * 0.96 ** (self.iterations + 1))
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


def _adamax(self, w, g, s, lr):
    t = self.iterations + 1
    s["m"] = s["m"] + (g - s["m"]) * (1 - self.beta_1)
    s["h"] = torch.maximum(self.beta_2 * s["h"], g.abs())
    return w - (lr * s["m"]) / ((1 - self.beta_1 ** t) * (s["h"] + self.epsilon))


def _nadam(self, w, g, s, lr):
    t = self.iterations + 1
    u_t = self.beta_1 * (1.0 - 0.5 * 0.96 ** t)
    u_t_1 = self.beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
    u_product_t = self.u_product
    u_product_t_1 = u_product_t * u_t_1
    s["m"] = s["m"] + (g - s["m"]) * (1 - self.beta_1)
    s["v"] = s["v"] + (g * g - s["v"]) * (1 - self.beta_2)
    m_hat = u_t_1 * s["m"] / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
    v_hat = s["v"] / (1 - self.beta_2 ** t)
    return w - (m_hat * lr) / (torch.sqrt(v_hat) + self.epsilon)


def _adadelta(self, w, g, s, lr):
    rho, eps = self.rho, self.epsilon
    s["a"] = rho * s["a"] + (1 - rho) * g * g
    delta = -(torch.sqrt(s["h"] + eps) * g) / torch.sqrt(s["a"] + eps)
    s["h"] = rho * s["h"] + (1 - rho) * delta * delta
    return w + lr * delta


def _lion(self, w, g, s, lr):
    out = w - lr * torch.sign(s["m"] * self.beta_1 + g * (1.0 - self.beta_1))
    s["m"] = s["m"] * self.beta_2 + g * (1.0 - self.beta_2)
    return out


def _ftrl(self, w, g, s, lr):
    p = self.lr_power
    l2 = self.l2 + self.beta / (2.0 * lr)
    g_shrunk = g + 2 * self.l2_shrink * w
    new_accum = s["a"] + g * g
    s["s"] = s["s"] + (g_shrunk - (new_accum ** -p - s["a"] ** -p) / lr * w)
    quadratic = new_accum ** -p / lr + 2 * l2
    s["a"] = new_accum
    return (s["s"].clamp(-self.l1, self.l1) - s["s"]) / quadratic


def _lamb(self, w, g, s, lr):
    t = self.iterations + 1
    s["m"] = s["m"] + (g - s["m"]) * (1 - self.beta_1)
    s["v"] = s["v"] + (g * g - s["v"]) * (1 - self.beta_2)
    m_hat = s["m"] / (1.0 - self.beta_1 ** t)
    update = m_hat / (torch.sqrt(s["v"] / (1.0 - self.beta_2 ** t)) + self.epsilon)
    w_norm = math.sqrt(float((w * w).sum()))
    g_norm = math.sqrt(float((update * update).sum()))
    ratio = w_norm / g_norm if w_norm > 0 and g_norm > 0 else 1.0
    return w - ratio * lr * update


for _f in (_adamax, _nadam, _adadelta, _lion, _ftrl, _lamb):
    setattr(KerasReference, _f.__name__, _f)
