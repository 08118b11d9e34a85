"""Graphs of layers against torch autograd: the same math, the same batches, 20 steps, 1e-10.

Each case builds a kerasette model (functional, subclassed, nested), writes the same network here in
plain torch tensor math, copies the initial weights across, and trains both on the same batches:
kerasette by its hand-written backward passes, the oracle by `torch.autograd.grad` and the update
rule written out (plain SGD w <- w - lr g, as Keras and torch.optim.SGD do it, without building a
torch.optim object, whose first construction costs seconds of imports; Adam by Keras 3's formula,
since torch's Adam places epsilon differently). Final weights and every step's loss must agree
to 1e-10 in float64.

The oracle's parameters are looked up by layer (`P[layer] = [kernel, bias]`), in the order of
`model.weights`, which is also `model.get_weights()`'s order.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import kerasette as ks
from kerasette.layers import Concatenate, Dense

pytestmark = pytest.mark.usefixtures("float64")  # see conftest.py

TOL = 1e-10
STEPS = 20


# ----- the oracle ---------------------------------------------------------------------------------
def mse(p, y):
    """Keras's mean_squared_error: mean over the last axis, then over the batch."""
    return ((p - y) ** 2).mean(-1).mean()


def bce_logits(z, y):
    """Keras's binary_crossentropy on sigmoid(z), computed from the logits z."""
    return F.binary_cross_entropy_with_logits(z, y, reduction="none").mean(-1).mean()


def dense(params, x, act=None):
    kernel, bias = params
    z = x @ kernel + bias
    return z if act is None else act(z)


class Oracle:
    """The model's weights as torch leaves (frozen ones as constants), keyed by layer."""

    def __init__(self, model, lr, opt="sgd"):
        self.weights = model.weights
        values = model.get_weights()
        assert len(values) == len(self.weights)
        self.params = [torch.tensor(v, requires_grad=w.trainable)
                       for v, w in zip(values, self.weights)]
        self.index = {id(w): i for i, w in enumerate(self.weights)}
        self.trainable = [p for p in self.params if p.requires_grad]
        self.opt, self.lr, self.t = opt, lr, 0
        if opt == "adam":
            self.m = [torch.zeros_like(p) for p in self.trainable]
            self.v = [torch.zeros_like(p) for p in self.trainable]

    def __getitem__(self, layer):
        return [self.params[self.index[id(w)]] for w in layer.weights]

    def step(self, loss):
        grads = torch.autograd.grad(loss, self.trainable)
        self.t += 1
        with torch.no_grad():
            if self.opt == "sgd":
                for p, g in zip(self.trainable, grads):
                    p.add_(g, alpha=-self.lr)
            else:  # Keras 3's Adam (defaults beta_1=0.9, beta_2=0.999, epsilon=1e-7)
                b1, b2, eps = 0.9, 0.999, 1e-7
                alpha = self.lr * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
                for p, g, m, v in zip(self.trainable, grads, self.m, self.v):
                    m.add_((1 - b1) * (g - m))
                    v.add_((1 - b2) * (g * g - v))
                    p.sub_(alpha * m / (v.sqrt() + eps))
        return float(loss.detach())

    def assert_weights(self, model):
        final = model.get_weights()
        assert len(final) == len(self.params)
        for got, want in zip(final, self.params):
            np.testing.assert_allclose(got, want.detach().numpy(), rtol=0, atol=TOL)


def train_both(model, oracle, loss_fn, batches):
    """train_on_batch for each (x, y); the oracle's loss_fn(P, x, y) on the same batch."""
    for x, y in batches:
        got = model.train_on_batch(x, y, return_dict=True)["loss"]
        want = oracle.step(loss_fn(oracle, x, y))
        assert abs(got - want) <= TOL * max(1.0, abs(want)), (got, want)
    oracle.assert_weights(model)


def randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def batches_of(make, n=STEPS):
    return [make(i) for i in range(n)]


# ----- (1) a residual block -----------------------------------------------------------------------
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_residual_block(opt):
    x_in = ks.Input((4,))
    stem, inner, outer, head = (Dense(6, activation="tanh"), Dense(5, activation="tanh"),
                                Dense(6), Dense(2))
    h = stem(x_in)
    y_out = head(h + outer(inner(h)))
    model = ks.Model(x_in, y_out)
    lr = 0.05 if opt == "sgd" else 0.01
    model.compile(optimizer=ks.optimizers.SGD(lr) if opt == "sgd" else ks.optimizers.Adam(lr),
                  loss="mse")
    oracle = Oracle(model, lr, opt)

    def loss_fn(P, x, y):
        h = dense(P[stem], x, torch.tanh)
        return mse(dense(P[head], h + dense(P[outer], dense(P[inner], h, torch.tanh))), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 4, seed=i), randn(8, 2, seed=100 + i))))


# ----- (2) two inputs joined by Concatenate ------------------------------------------------------
def test_two_inputs_concatenate():
    a, b = ks.Input((3,), name="a"), ks.Input((2,), name="b")
    da, head = Dense(4, activation="tanh"), Dense(2)
    model = ks.Model([a, b], head(Concatenate()([da(a), b])))
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        return mse(dense(P[head], torch.cat([dense(P[da], x[0], torch.tanh), x[1]], -1)), y)

    train_both(model, oracle, loss_fn, batches_of(
        lambda i: ([randn(8, 3, seed=i), randn(8, 2, seed=50 + i)], randn(8, 2, seed=100 + i))))


# ----- (3) one layer shared by two inputs ----------------------------------------------------------
def test_shared_layer_gradients_add_up():
    a, b = ks.Input((4,), name="left"), ks.Input((4,), name="right")
    shared, head = Dense(3, activation="tanh"), Dense(1)
    model = ks.Model([a, b], head(Concatenate()([shared(a), shared(b)])))
    assert len(shared._inbound_nodes) == 2
    assert len(model.weights) == 4  # the shared kernel and bias appear once
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        ha, hb = dense(P[shared], x[0], torch.tanh), dense(P[shared], x[1], torch.tanh)
        return mse(dense(P[head], torch.cat([ha, hb], -1)), y)

    train_both(model, oracle, loss_fn, batches_of(
        lambda i: ([randn(8, 4, seed=i), randn(8, 4, seed=50 + i)], randn(8, 1, seed=100 + i))))


# ----- (4) two outputs with loss_weights, one of them fused sigmoid + BCE ------------------------
def test_two_outputs_loss_weights_fused():
    x_in = ks.Input((4,))
    trunk = Dense(5, activation="tanh")
    reg, cls = Dense(2, name="reg"), Dense(1, activation="sigmoid", name="cls")
    h = trunk(x_in)
    model = ks.Model(x_in, [reg(h), cls(h)])
    model.compile(optimizer=ks.optimizers.SGD(0.1), loss=["mse", "binary_crossentropy"],
                  loss_weights=[0.3, 2.0])
    assert model._fused and model._logit_outputs == (1,)  # the sigmoid output trains on logits
    oracle = Oracle(model, 0.1)

    def loss_fn(P, x, y):
        h = dense(P[trunk], x, torch.tanh)
        return 0.3 * mse(dense(P[reg], h), y[0]) + 2.0 * bce_logits(dense(P[cls], h), y[1])

    def batch(i):
        labels = (randn(8, 1, seed=200 + i) > 0).to(torch.float64)
        return randn(8, 4, seed=i), [randn(8, 2, seed=100 + i), labels]

    train_both(model, oracle, loss_fn, batches_of(batch))


# ----- (5) dict inputs and dict outputs through fit ------------------------------------------------
def test_dict_inputs_and_outputs_through_fit():
    num, cat = ks.Input((3,), name="num"), ks.Input((2,), name="cat")
    dn, dc = Dense(4, activation="tanh"), Dense(2, activation="tanh")
    price, flag = Dense(1), Dense(1, activation="sigmoid")
    h = Concatenate()([dn(num), dc(cat)])
    model = ks.Model({"num": num, "cat": cat}, {"price": price(h), "flag": flag(h)})
    assert model.input_names == ["num", "cat"] and model.output_names == ["price", "flag"]
    model.compile(optimizer=ks.optimizers.SGD(0.05),
                  loss={"price": "mse", "flag": "binary_crossentropy"},
                  loss_weights={"price": 1.0, "flag": 0.5})
    oracle = Oracle(model, 0.05)
    n, batch_size, epochs = 40, 8, 4  # 5 steps an epoch, 20 steps
    x = {"num": randn(n, 3, seed=1), "cat": randn(n, 2, seed=2)}
    y = {"price": randn(n, 1, seed=3), "flag": (randn(n, 1, seed=4) > 0).to(torch.float64)}
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)

    logs = {"loss": [], "price_loss": [], "flag_loss": []}
    for _ in range(epochs):
        sums = dict.fromkeys(logs, 0.0)
        for s in range(0, n, batch_size):
            xb = {k: v[s:s + batch_size] for k, v in x.items()}
            yb = {k: v[s:s + batch_size] for k, v in y.items()}
            h = torch.cat([dense(oracle[dn], xb["num"], torch.tanh),
                           dense(oracle[dc], xb["cat"], torch.tanh)], -1)
            lp = mse(dense(oracle[price], h), yb["price"])
            lf = bce_logits(dense(oracle[flag], h), yb["flag"])
            sums["price_loss"] += float(lp.detach())
            sums["flag_loss"] += float(lf.detach())
            sums["loss"] += oracle.step(lp + 0.5 * lf)
        for k in logs:
            logs[k].append(sums[k] / (n // batch_size))
    assert oracle.t == STEPS
    oracle.assert_weights(model)
    assert set(history.history) == set(logs)
    for k, want in logs.items():
        np.testing.assert_allclose(history.history[k], want, rtol=0, atol=TOL)


# ----- (6) a subclassed ResNet-like model --------------------------------------------------------
class ResidualBlock(ks.layers.Layer):
    """x + Dense(Dense(x)), composed in call() (a composite layer)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.inner = Dense(units, activation="tanh")
        self.outer = Dense(units)

    def call(self, inputs, training=False):
        return inputs + self.outer(self.inner(inputs))


class TinyResNet(ks.Model):
    def __init__(self):
        super().__init__()
        self.stem = Dense(5, activation="tanh")
        self.block1 = ResidualBlock(5)
        self.block2 = ResidualBlock(5)
        self.head = Dense(2)

    def call(self, inputs, training=False):
        return self.head(self.block2(self.block1(self.stem(inputs))))


def test_subclassed_resnet():
    model = TinyResNet()
    model.build((None, 3))
    assert len(model.weights) == 12
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def block(P, b, h):
        return h + dense(P[b.outer], dense(P[b.inner], h, torch.tanh))

    def loss_fn(P, x, y):
        h = dense(P[model.stem], x, torch.tanh)
        return mse(dense(P[model.head], block(P, model.block2, block(P, model.block1, h))), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 3, seed=i), randn(8, 2, seed=100 + i))))


# ----- (7) a frozen branch ------------------------------------------------------------------------
def count_backward_calls(layer, calls):
    """Wrap `layer.forward` so that every call of its backward closure is counted."""
    forward = layer.forward

    def counted(x, training=False):
        calls["forward"] += 1
        y, backward = forward(x, training)

        def counted_backward(*args, **kwargs):
            calls["backward"] += 1
            return backward(*args, **kwargs)
        return y, counted_backward

    layer.forward = counted


def test_frozen_branch_costs_no_backward():
    x_in = ks.Input((4,))
    f1, f2 = Dense(5, activation="tanh"), Dense(3, activation="tanh")
    live, head = Dense(3, activation="tanh"), Dense(1)
    model = ks.Model(x_in, head(Concatenate()([f2(f1(x_in)), live(x_in)])))
    f1.trainable = False
    f2.trainable = False
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    frozen_before = [w.numpy() for w in f1.weights + f2.weights]
    calls = [{"forward": 0, "backward": 0} for _ in range(2)]
    count_backward_calls(f1, calls[0])
    count_backward_calls(f2, calls[1])
    oracle = Oracle(model, 0.05)
    assert len(oracle.trainable) == 4

    def loss_fn(P, x, y):
        frozen = dense(P[f2], dense(P[f1], x, torch.tanh), torch.tanh)
        return mse(dense(P[head], torch.cat([frozen, dense(P[live], x, torch.tanh)], -1)), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 4, seed=i), randn(8, 1, seed=100 + i))))
    assert calls == [{"forward": STEPS, "backward": 0}] * 2
    for before, w in zip(frozen_before, f1.weights + f2.weights):
        np.testing.assert_array_equal(w.numpy(), before)


# ----- (8) a model nested in a model ---------------------------------------------------------------
@pytest.mark.parametrize("outer_kind", ["functional", "sequential"])
def test_model_nested_in_model(outer_kind):
    d1, d2 = Dense(6, activation="tanh"), Dense(3, activation="tanh")
    inner = ks.Sequential([ks.Input((4,)), d1, d2])
    head = Dense(2)
    if outer_kind == "functional":
        x_in = ks.Input((4,))
        model = ks.Model(x_in, head(inner(x_in)))
    else:
        model = ks.Sequential([ks.Input((4,)), inner, head])
    assert len(model.weights) == 6
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        return mse(dense(P[head], dense(P[d2], dense(P[d1], x, torch.tanh), torch.tanh)), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 4, seed=i), randn(8, 2, seed=100 + i))))
    # the inner model's weights are the outer model's: trained in place, visible from both
    for got, want in zip(inner.get_weights(), model.get_weights()[:4]):
        np.testing.assert_array_equal(got, want)
    x = randn(5, 4, seed=7)
    np.testing.assert_array_equal(model(x).numpy(), head(inner(x)).numpy())


# ----- more of the same: transfer learning, a shared composite layer, per-output sample weights ----
def test_frozen_nested_model_costs_no_backward():
    base_dense = Dense(5, activation="tanh")
    base = ks.Sequential([ks.Input((4,)), base_dense])
    base.trainable = False  # transfer learning: a frozen base under a new head
    x_in, head = ks.Input((4,)), Dense(1)
    model = ks.Model(x_in, head(base(x_in)))
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    calls = {"forward": 0, "backward": 0}
    count_backward_calls(base, calls)
    oracle = Oracle(model, 0.05)
    assert len(oracle.trainable) == 2

    def loss_fn(P, x, y):
        return mse(dense(P[head], dense(P[base_dense], x, torch.tanh)), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 4, seed=i), randn(8, 1, seed=100 + i))))
    assert calls == {"forward": STEPS, "backward": 0}


def test_shared_composite_layer_and_symbolic_ops():
    block, stem, head = ResidualBlock(4), Dense(4, activation="tanh"), Dense(1)
    x_in = ks.Input((3,))
    h = stem(x_in)
    a = block(h)
    b = block(a)  # the same block twice: one set of weights, two uses
    model = ks.Model(x_in, head((b - h) * a))
    assert len(model.weights) == 8
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def res(P, h):
        return h + dense(P[block.outer], dense(P[block.inner], h, torch.tanh))

    def loss_fn(P, x, y):
        h = dense(P[stem], x, torch.tanh)
        a = res(P, h)
        return mse(dense(P[head], (res(P, a) - h) * a), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 3, seed=i), randn(8, 1, seed=100 + i))))


def test_sample_weight_per_output():
    x_in = ks.Input((4,), name="inp")
    trunk, reg, cls = Dense(3, activation="tanh"), Dense(1), Dense(1, activation="sigmoid")
    h = trunk(x_in)
    model = ks.Model({"inp": x_in}, {"r": reg(h), "c": cls(h)})
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss={"r": "mse", "c": "binary_crossentropy"})
    oracle = Oracle(model, 0.05)
    for i in range(STEPS):
        x = {"inp": randn(8, 4, seed=i)}
        y = {"r": randn(8, 1, seed=50 + i), "c": (randn(8, 1, seed=70 + i) > 0).to(torch.float64)}
        sw = {"r": randn(8, seed=90 + i).abs(), "c": randn(8, seed=95 + i).abs()}
        got = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)["loss"]
        hh = dense(oracle[trunk], x["inp"], torch.tanh)
        lr_ = (((dense(oracle[reg], hh) - y["r"]) ** 2).mean(-1) * sw["r"]).mean()
        lc = (F.binary_cross_entropy_with_logits(dense(oracle[cls], hh), y["c"], reduction="none")
              .mean(-1) * sw["c"]).mean()
        want = oracle.step(lr_ + lc)
        assert abs(got - want) <= TOL, (i, got, want)
    oracle.assert_weights(model)


# ----- composite layers that change the shape or split; Lambda layers ------------------------------
class Widen(ks.layers.Layer):
    """tanh(x W1) -> (width), a composite layer whose output is wider than its input."""

    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        self.proj = Dense(width, activation="tanh")

    def call(self, inputs, training=False):
        return self.proj(inputs)


class Split(ks.layers.Layer):
    """Two heads of different widths from one input: a composite layer with two outputs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.left, self.right = Dense(2), Dense(3, activation="tanh")

    def call(self, inputs, training=False):
        return [self.left(inputs), self.right(inputs)]


def test_composite_layers_that_change_shape_and_split():
    x_in = ks.Input((3,))
    widen, split, head = Widen(6), Split(), Dense(1)
    h = widen(x_in)
    left, right = split(h)
    assert tuple(h.shape) == (None, 6) and [tuple(t.shape) for t in (left, right)] == [(None, 2),
                                                                                      (None, 3)]
    model = ks.Model(x_in, head(Concatenate()([left, right])))
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        h = dense(P[widen.proj], x, torch.tanh)
        both = torch.cat([dense(P[split.left], h), dense(P[split.right], h, torch.tanh)], -1)
        return mse(dense(P[head], both), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 3, seed=i), randn(8, 1, seed=100 + i))))


def test_lambda_layers_train_through_their_traced_ops():
    a_in, b_in = ks.Input((3,)), ks.Input((3,))
    stem, head = Dense(4, activation="tanh"), Dense(2)
    h = stem(a_in)
    bump = ks.layers.Lambda(lambda t: ks.ops.square(t) - t * 0.5)            # ops and operators
    scale = ks.layers.Lambda(lambda t, k: ks.ops.exp(t) * k, arguments={"k": 0.25})
    gate = ks.layers.Lambda(lambda ts: ks.ops.sigmoid(ts[0]) * ts[1])        # two inputs
    mixed = gate([Dense(4, name="gate_in")(b_in), scale(bump(h))])
    model = ks.Model([a_in, b_in], head(mixed + h))
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        a, b = x
        h = dense(P[stem], a, torch.tanh)
        g = torch.sigmoid(dense(P[model.get_layer("gate_in")], b))
        return mse(dense(P[head], g * (torch.exp(h * h - h * 0.5) * 0.25) + h), y)

    train_both(model, oracle, loss_fn, batches_of(lambda i: (
        (randn(8, 3, seed=i), randn(8, 3, seed=50 + i)), randn(8, 2, seed=100 + i))))


# ----- a Keras-style custom layer: add_weight in build, ops on its weights in call ----------------
class GatedLinear(ks.layers.Layer):
    """x W + b, scaled by a per-feature gate, with a residual s * x: each weight read by ops in
    call(), `scale` twice (as the left operand once)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal")
        self.scale = self.add_weight(shape=(self.units,), initializer="ones", name="scale")

    def call(self, inputs):
        z = ks.ops.matmul(inputs, self.w) + self.b
        return self.scale * ks.ops.tanh(z) + ks.ops.multiply(z, self.scale) - (inputs @ self.w)


def test_keras_style_custom_layer_trains_its_weights():
    x_in = ks.Input((3,))
    custom, head = GatedLinear(3), Dense(1)
    model = ks.Model(x_in, head(custom(x_in)))
    assert [w.name.split("/")[-1] for w in custom.weights] == ["variable", "variable_1", "scale"]
    model.compile(optimizer=ks.optimizers.SGD(0.05), loss="mse")
    oracle = Oracle(model, 0.05)

    def loss_fn(P, x, y):
        w, b, s = P[custom]
        z = x @ w + b
        return mse(dense(P[head], s * torch.tanh(z) + z * s - x @ w), y)

    train_both(model, oracle, loss_fn,
               batches_of(lambda i: (randn(8, 3, seed=i), randn(8, 1, seed=100 + i))))
