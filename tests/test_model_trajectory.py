"""The key test of the model: `fit` gives the same weights, step for step, as the same training
written here with torch autograd and the optimizers' update rules (float64, shuffle=False).

The oracle recomputes the network from the initial weights with plain tensor math, takes the
gradient with `torch.autograd.grad`, and applies Keras's update formulas by hand (plain SGD through
`torch.optim.SGD`, whose rule is the same). Softmax + categorical cross-entropy and sigmoid + binary
cross-entropy run through kerasette's fused loss path, so these tests also pin that path down.
"""

import math

import numpy as np
import pytest
import torch

import kerasette as ks
from kerasette.layers import Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py


ACT = {None: lambda z: z, "tanh": torch.tanh, "relu": torch.relu,
       "softmax": lambda z: torch.softmax(z, -1), "sigmoid": torch.sigmoid}


def oracle_loss(name, p, y, w):
    """Keras's loss on probabilities/outputs p: sum(w_i l_i) / batch size."""
    if name == "mse":
        per_sample = ((p - y) ** 2).mean(1)
    elif name == "categorical_crossentropy":
        per_sample = -(y * p.log()).sum(1)
    elif name == "sparse_categorical_crossentropy":
        per_sample = -p.gather(1, y[:, None])[:, 0].log()
    else:  # binary_crossentropy, averaged over the outputs
        per_sample = -(y * p.log() + (1 - y) * (1 - p).log()).mean(1)
    if w is not None:
        per_sample = per_sample * w
    return per_sample.sum() / p.shape[0]


class Oracle:
    """Training by autograd and hand-written Keras update rules."""

    def __init__(self, weights, acts, loss, opt, **hp):
        self.params = [torch.tensor(w, requires_grad=True) for w in weights]
        self.acts, self.loss, self.opt, self.hp, self.t = acts, loss, opt, hp, 0
        self.slots = [[torch.zeros_like(p) for p in self.params] for _ in range(2)]
        if opt == "sgd":
            self.torch_sgd = torch.optim.SGD(self.params, lr=hp["lr"])

    def forward(self, x):
        h = x
        for i, act in enumerate(self.acts):
            h = ACT[act](h @ self.params[2 * i] + self.params[2 * i + 1])
        return h

    def step(self, x, y, w=None):
        loss = oracle_loss(self.loss, self.forward(x), y, w)
        grads = torch.autograd.grad(loss, self.params)
        hp = self.hp
        with torch.no_grad():
            if self.opt == "sgd":
                for p, g in zip(self.params, grads):
                    p.grad = g
                self.torch_sgd.step()
            elif self.opt in ("momentum", "nesterov"):
                m = hp["momentum"]
                for p, g, v in zip(self.params, grads, self.slots[0]):
                    v.mul_(m).sub_(hp["lr"] * g)               # v <- m v - lr g
                    if self.opt == "momentum":
                        p.add_(v)                              # w <- w + v
                    else:
                        p.add_(m * v - hp["lr"] * g)           # w <- w + m v - lr g
            else:  # adam (Keras: epsilon added to sqrt(v) before the bias correction)
                b1, b2, eps, t = 0.9, 0.999, 1e-7, self.t + 1
                alpha = hp["lr"] * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                for p, g, m, v in zip(self.params, grads, *self.slots):
                    m.add_((1 - b1) * (g - m))
                    v.mul_(b2).add_((1 - b2) * g * g)
                    p.sub_(alpha * m / (v.sqrt() + eps))
        self.t += 1
        return float(loss.detach())

    def fit(self, x, y, w=None, epochs=1, batch_size=4):
        losses = []
        for _ in range(epochs):
            total = 0.0
            for s in range(0, x.shape[0], batch_size):
                sl = slice(s, s + batch_size)
                total += self.step(x[sl], y[sl], None if w is None else w[sl]) * x[sl].shape[0]
            losses.append(total / x.shape[0])
        return losses

    def weights(self):
        return [p.detach().numpy() for p in self.params]


OPTIMIZERS = {
    "sgd": (lambda: ks.optimizers.SGD(0.1), dict(lr=0.1)),
    "momentum": (lambda: ks.optimizers.SGD(0.1, momentum=0.9), dict(lr=0.1, momentum=0.9)),
    "nesterov": (lambda: ks.optimizers.SGD(0.05, momentum=0.8, nesterov=True),
                 dict(lr=0.05, momentum=0.8)),
    "adam": (lambda: ks.optimizers.Adam(0.01), dict(lr=0.01)),
}

# (hidden activations, output activation, loss)
NETS = {
    "tanh-mse": (["tanh"], None, "mse"),
    "relu-softmax-cce": (["relu"], "softmax", "categorical_crossentropy"),
    "tanh-softmax-sparse": (["tanh"], "softmax", "sparse_categorical_crossentropy"),
    "relu-sigmoid-bce": (["relu"], "sigmoid", "binary_crossentropy"),
    "deep-tanh-relu-softmax": (["tanh", "relu"], "softmax", "categorical_crossentropy"),
}


def make_data(loss, n=10, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.normal(size=(n, 3)))
    classes = torch.as_tensor(rng.integers(0, 3, n))
    if loss == "mse":
        y = torch.as_tensor(rng.normal(size=(n, 3)))
    elif loss == "categorical_crossentropy":
        y = torch.eye(3, dtype=torch.float64)[classes]
    elif loss == "sparse_categorical_crossentropy":
        y = classes
    else:
        y = torch.as_tensor(rng.integers(0, 2, (n, 3))).double()
    return x, y


def build(net, opt_name, seed=0):
    hidden, out_act, loss = NETS[net]
    ks.utils.set_random_seed(seed)
    layers = [ks.Input((3,))] + [Dense(4, activation=a) for a in hidden]
    model = ks.Sequential(layers + [Dense(3, activation=out_act)])
    model.compile(OPTIMIZERS[opt_name][0](), loss)
    oracle = Oracle(model.get_weights(), hidden + [out_act], loss, opt_name,
                    **OPTIMIZERS[opt_name][1])
    return model, oracle


def assert_same_weights(model, oracle):
    for got, want in zip(model.get_weights(), oracle.weights()):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("net", list(NETS))
def test_fit_follows_the_autograd_trajectory(net, opt_name):
    model, oracle = build(net, opt_name)
    x, y = make_data(NETS[net][2])
    history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    losses = oracle.fit(x, y, epochs=3, batch_size=4)
    assert model.optimizer.iterations == oracle.t == 9
    assert_same_weights(model, oracle)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-10)
    # the weights did move: the comparison is not between two untouched initialisations
    assert not np.allclose(model.get_weights()[0], build(net, opt_name)[0].get_weights()[0])


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_fit_with_sample_weights_follows_the_trajectory(opt_name):
    model, oracle = build("tanh-mse", opt_name)
    x, y = make_data("mse")
    w = torch.linspace(0.0, 2.0, x.shape[0], dtype=torch.float64)
    model.fit(x, y, sample_weight=w, epochs=2, batch_size=3, shuffle=False, verbose=0)
    oracle.fit(x, y, w, epochs=2, batch_size=3)
    assert_same_weights(model, oracle)


@pytest.mark.parametrize("net", ["tanh-mse", "relu-softmax-cce", "relu-sigmoid-bce"])
def test_train_on_batch_is_one_step(net):
    model, oracle = build(net, "momentum")
    x, y = make_data(NETS[net][2], n=6)
    for _ in range(2):
        value = model.train_on_batch(x, y)
        expected = oracle.step(x, y)
        assert value == pytest.approx(expected, rel=1e-12)
    assert_same_weights(model, oracle)
    assert model.optimizer.iterations == 2


def test_fit_in_float64_equals_the_model_in_float32_within_float32_precision():
    """Sanity link to the default dtype: the same run in float32 lands near the float64 one."""
    model64, oracle = build("tanh-mse", "sgd")
    init = model64.get_weights()
    x, y = make_data("mse")
    model64.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    ks.config.set_floatx("float32")
    model32 = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(3)])
    model32.set_weights(init)
    model32.compile(ks.optimizers.SGD(0.1), "mse")
    model32.fit(x.float(), y.float(), epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert model32.get_weights()[0].dtype == np.float32
    for a, b in zip(model32.get_weights(), model64.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("axis", [-1, 1, 0])
def test_softmax_layer_at_the_end_follows_the_trajectory(axis):
    """A separate Softmax layer fuses with the cross-entropy like Dense(activation="softmax") when
    it normalises the class axis; a softmax over another axis must not be fused."""
    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((3,)), Dense(4, activation="tanh"), Dense(3),
                           ks.layers.Softmax(axis=axis)])
    model.compile(ks.optimizers.SGD(0.1, momentum=0.9), "categorical_crossentropy")
    oracle = Oracle(model.get_weights(), ["tanh", None], "categorical_crossentropy", "momentum",
                    lr=0.1, momentum=0.9)
    x, y = make_data("categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=5, shuffle=False, verbose=0)
    for _ in range(2):
        for s in range(0, 10, 5):
            xb, yb = x[s:s + 5], y[s:s + 5]
            p = torch.softmax(oracle.forward(xb), dim=axis)
            p = p / p.sum(1, keepdim=True)  # Keras renormalises probabilities over the classes
            loss = -(yb * p.log()).sum(1).mean()
            grads = torch.autograd.grad(loss, oracle.params)
            with torch.no_grad():
                for w, g, v in zip(oracle.params, grads, oracle.slots[0]):
                    v.mul_(0.9).sub_(0.1 * g)
                    w.add_(v)
    assert_same_weights(model, oracle)
    assert model._fused == (axis != 0)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_sequence_outputs_follow_the_trajectory(loss):
    """Dense on (N, T, F) inputs: one softmax per time step, the loss averaged over N * T."""
    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((4, 3)), Dense(5, activation="tanh"),
                           Dense(3, activation="softmax")])
    model.compile(ks.optimizers.SGD(0.2), loss, metrics=["accuracy"])
    oracle = Oracle(model.get_weights(), ["tanh", "softmax"], loss, "sgd", lr=0.2)
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(size=(6, 4, 3)))
    classes = torch.as_tensor(rng.integers(0, 3, (6, 4)))
    y = classes if loss.startswith("sparse") else torch.eye(3, dtype=torch.float64)[classes]
    history = model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for _ in range(2):
        for s in (slice(0, 4), slice(4, 6)):
            p = oracle.forward(x[s])
            loss_value = -(torch.eye(3, dtype=torch.float64)[classes[s]] * p.log()).sum(-1).mean()
            grads = torch.autograd.grad(loss_value, oracle.params)
            with torch.no_grad():
                for w, g in zip(oracle.params, grads):
                    w.sub_(0.2 * g)
    assert_same_weights(model, oracle)
    p = model.predict(x, verbose=0)
    acc = (p.argmax(-1) == classes).double().mean().item()
    assert model.evaluate(x, y, verbose=0)[1] == pytest.approx(acc)
    assert len(history.history["accuracy"]) == 2
