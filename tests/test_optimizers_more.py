"""Adamax, Nadam, Adadelta, Lion, Lamb, Ftrl (Keras 3.16's rules), the learning rate as a Keras
variable, and the Keras 2 spellings Keras 3 removed.

The Keras-formula trajectories of the new optimizers (with every clipping kind, weight decay and a
schedule) and their flat/twin equality run with the other optimizers, from SPECS in
test_optimizers_helpers; here: torch.optim trajectories where torch has the optimizer, what the
shared specs leave out, and the API.
"""

import numpy as np
import pytest
import torch
from test_optimizers_helpers import (
    SHAPES,
    KerasReference,
    gradient_stream,
    make_weights,
    run_kerasette,
)

import kerasette as ks
from kerasette.optimizers import (
    SGD,
    Adadelta,
    Adam,
    Adamax,
    Ftrl,
    Lamb,
    Lion,
    Nadam,
)
from kerasette.optimizers.schedules import ExponentialDecay

STEPS = 25
TOL = {"atol": 1e-10, "rtol": 1e-10}


def torch_run(make, steps=STEPS):
    """torch.optim in float64; the default dtype too, since NAdam keeps its momentum-cache
    product in the default dtype (float32 would differ by ~1e-10 here)."""
    params = [w.value.clone().requires_grad_(True) for w in make_weights() if w.trainable]
    stream = gradient_stream(SHAPES)
    grads = [next(stream) for _ in range(steps)]  # drawn in the usual default dtype
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        opt = make(params)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = g.clone()
            opt.step()
    finally:
        torch.set_default_dtype(default)
    return [p.detach() for p in params]


# ----- against torch.optim (float64, 25 steps) ------------------------------------------------------
# Adamax: torch adds eps inside the max, Keras after it: equal as eps -> 0 (1e-30 here).
# NAdam: torch's momentum cache uses 0.96 ** (t * momentum_decay); Keras's is 0.96 ** t, i.e.
# momentum_decay=1. Adadelta: the same rule; Keras's defaults differ, so both get the same values.
TORCH_CASES = [
    ("adamax", Adamax(0.01, epsilon=1e-30),
     lambda p: torch.optim.Adamax(p, lr=0.01, betas=(0.9, 0.999), eps=1e-30)),
    ("adamax-betas", Adamax(0.02, beta_1=0.8, beta_2=0.9, epsilon=1e-30),
     lambda p: torch.optim.Adamax(p, lr=0.02, betas=(0.8, 0.9), eps=1e-30)),
    ("nadam", Nadam(0.01),
     lambda p: torch.optim.NAdam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-7, momentum_decay=1.0)),
    ("nadam-betas", Nadam(0.005, beta_1=0.8, beta_2=0.99, epsilon=1e-5),
     lambda p: torch.optim.NAdam(p, lr=0.005, betas=(0.8, 0.99), eps=1e-5, momentum_decay=1.0)),
    ("adadelta", Adadelta(1.0, rho=0.95, epsilon=1e-7),
     lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7)),
    ("adadelta-torch-defaults", Adadelta(1.0, rho=0.9, epsilon=1e-6),
     lambda p: torch.optim.Adadelta(p)),
]


@pytest.mark.parametrize("name, opt, make", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch_optim(name, opt, make):
    got = run_kerasette(opt, make_weights(), gradient_stream(SHAPES), STEPS)
    want = torch_run(make)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **TOL)
    assert not torch.allclose(got[0], make_weights()[0].value)


def test_nadam_differs_from_torch_default_momentum_decay():
    """Guard the guard: with torch's default momentum_decay (0.004) the trajectories differ."""
    got = run_kerasette(Nadam(0.01), make_weights(), gradient_stream(SHAPES), STEPS)
    want = torch_run(lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7))
    assert not torch.allclose(got[0], want[0], atol=1e-6)


def test_ftrl_any_learning_rate_power_matches_keras_formula_and_twin():
    """A power other than -0.5 (sqrt): `pow` on the long flat tensor and on per-weight views may
    round differently in the last bit, so flat and twin agree to 1e-12 instead of exactly."""
    kw = {"learning_rate_power": -0.3, "l1_regularization_strength": 0.01,
          "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.03,
          "beta": 0.1, "initial_accumulator_value": 0.2}
    flat = run_kerasette(Ftrl(0.1, **kw), make_weights(), gradient_stream(SHAPES), STEPS)
    twin = run_kerasette(Ftrl(0.1, **kw), make_weights(), gradient_stream(SHAPES), STEPS, twin=True)
    ref, grads = KerasReference("ftrl", 0.1, **kw), gradient_stream(SHAPES)
    ws = [w.value.clone() for w in make_weights() if w.trainable]
    for _ in range(STEPS):
        ws = ref.step(ws, next(grads))
    for a, b, c in zip(flat, twin, ws):
        torch.testing.assert_close(a, c, **TOL)
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)


def test_ftrl_l1_gives_exact_zeros():
    w = ks.layers.base.Weight(torch.tensor([0.5, -0.5, 2.0], dtype=torch.float64), "w")
    opt = Ftrl(0.1, l1_regularization_strength=1.0)
    opt.build([w])
    w.grad.copy_(torch.tensor([0.1, -0.1, 5.0], dtype=torch.float64))
    opt.step()
    assert w.value[0] == 0 and w.value[1] == 0 and w.value[2] != 0


def test_lion_moves_every_entry_by_the_learning_rate():
    w = ks.layers.base.Weight(torch.zeros(4, dtype=torch.float64), "w")
    opt = Lion(0.01)
    opt.build([w])
    w.grad.copy_(torch.tensor([3.0, -1e-3, 0.5, -7.0], dtype=torch.float64))
    opt.step()
    torch.testing.assert_close(w.value, torch.tensor([-0.01, 0.01, -0.01, 0.01],
                                                     dtype=torch.float64))


def test_lamb_trust_ratio_is_per_weight():
    """Scaling one weight by 10 scales its step by 10 (ratio ~ ||w||) and leaves the other's."""
    def first_step(scale):
        ws = [ks.layers.base.Weight(torch.full((3,), 1.0, dtype=torch.float64) * s, f"w{i}")
              for i, s in enumerate((scale, 1.0))]
        opt = Lamb(0.1)
        opt.build(ws)
        for w in ws:
            w.grad.copy_(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
        before = [w.value.clone() for w in ws]
        opt.step()
        return [w.value - b for w, b in zip(ws, before)]

    one, ten = first_step(1.0), first_step(10.0)
    torch.testing.assert_close(ten[0], 10 * one[0])
    torch.testing.assert_close(ten[1], one[1])


@pytest.mark.parametrize("cls, defaults", [
    (Adamax, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
              "name": "adamax"}),
    (Nadam, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "name": "nadam"}),
    (Adadelta, {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7, "name": "adadelta"}),
    (Lion, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99, "name": "lion"}),
    (Lamb, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
            "name": "lamb"}),
    (Ftrl, {"learning_rate": 0.001, "learning_rate_power": -0.5, "initial_accumulator_value": 0.1,
            "l1_regularization_strength": 0.0, "l2_regularization_strength": 0.0,
            "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0, "name": "ftrl"}),
])
def test_keras_defaults_and_ids(cls, defaults):
    config = cls().get_config()
    for k, v in defaults.items():
        assert config[k] == v, k
    assert type(ks.optimizers.get(cls.__name__.lower())) is cls
    assert type(ks.optimizers.get(cls.__name__)) is cls
    again = ks.optimizers.deserialize(ks.optimizers.serialize(cls(learning_rate=0.05)))
    assert again.get_config() == cls(learning_rate=0.05).get_config()


@pytest.mark.parametrize("make, exc, match", [
    (lambda: Adamax(beta_1=1.0), ValueError, "beta_1"),
    (lambda: Nadam(beta_2=-0.1), ValueError, "beta_2"),
    (lambda: Nadam(epsilon=0), ValueError, "epsilon"),
    (lambda: Adadelta(rho=1.5), ValueError, "rho"),
    (lambda: Lion(beta_1=0.0), ValueError, "beta_1"),
    (lambda: Lion(beta_2="0.9"), TypeError, "beta_2"),
    (lambda: Lamb(epsilon=float("nan")), ValueError, "epsilon"),
    (lambda: Ftrl(learning_rate_power=0.5), ValueError, "learning_rate_power"),
    (lambda: Ftrl(initial_accumulator_value=-1.0), ValueError, "initial_accumulator_value"),
    (lambda: Ftrl(l1_regularization_strength=-1.0), ValueError, "l1_regularization_strength"),
    (lambda: Ftrl(beta=-1.0), ValueError, "beta"),
    (lambda: Ftrl(learning_rate=0.0), ValueError, "learning_rate"),
])
def test_bad_hyperparameters_raise(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize("name", ["adamax", "nadam", "adadelta", "lion", "lamb", "ftrl"])
def test_each_new_optimizer_trains_a_model(name):
    ks.utils.set_random_seed(0)
    x = torch.randn(128, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    model = ks.Sequential([ks.Input((4,)), ks.layers.Dense(1)])
    # Adadelta's first steps are ~sqrt(epsilon) long: a larger epsilon makes 15 epochs enough
    config = {"adadelta": {"learning_rate": 1.0, "epsilon": 1e-2},
              "ftrl": {"learning_rate": 0.5}}.get(name, {"learning_rate": 0.05})
    model.compile(optimizer=ks.optimizers.get({"class_name": name, "config": config}), loss="mse")
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


# ----- Keras 2 spellings Keras 3 removed ------------------------------------------------------------
def test_lr_is_refused_naming_learning_rate():
    with pytest.raises(TypeError, match=r"lr=0\.1.*learning_rate=0\.1"):
        SGD(lr=0.1)
    with pytest.raises(TypeError, match="learning_rate"):
        Adam(lr=1e-3)


def test_decay_is_refused_naming_inverse_time_decay():
    with pytest.raises(TypeError, match=r"InverseTimeDecay\(.*decay_rate=0\.01"):
        Adam(learning_rate=1e-3, decay=0.01)
    assert Adam(learning_rate=1e-3, decay=0.0).learning_rate == 1e-3  # Keras 2's default: no-op


def test_decay_equivalent_is_keras2_formula():
    sched = ks.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.01)
    assert [sched(t) for t in range(3)] == [0.1 / (1 + 0.01 * t) for t in range(3)]


def test_keras_only_arguments_at_their_defaults_are_accepted_else_refused():
    assert Nadam(use_ema=False, ema_momentum=0.99, loss_scale_factor=None).name == "nadam"
    with pytest.raises(ValueError, match="use_ema"):
        Adam(use_ema=True)
    with pytest.raises(TypeError, match="momentum"):
        Adam(momentum=0.9)
    with pytest.raises(TypeError, match="schedule_decay"):
        Nadam(schedule_decay=0.004)


# ----- learning_rate as a Keras variable ----------------------------------------------------------
def test_learning_rate_reads_like_a_keras_variable():
    opt = Adam(0.01)
    lr = opt.learning_rate
    assert float(lr) == 0.01 and lr == 0.01 and lr > 0.001 and lr != 0.02
    assert isinstance(lr.numpy(), np.ndarray) and lr.numpy().dtype == np.float32
    assert lr.numpy() == np.float32(0.01)
    assert lr * 2 == 0.02 and 2 * lr == 0.02 and lr / 2 == 0.005 and 1 - lr == 0.99
    assert -lr == -0.01 and lr ** 2 == pytest.approx(1e-4)
    assert f"{lr:.3f}" == "0.010" and "0.01" in repr(lr)
    assert np.asarray(lr).dtype == np.float32 and float(np.asarray(lr)) == pytest.approx(0.01)
    assert lr.value.shape == () and float(lr.value) == pytest.approx(0.01)
    assert lr == pytest.approx(0.01)
    assert round(lr, 3) == 0.01 and float(torch.log(lr)) == pytest.approx(np.log(0.01))


def test_learning_rate_assign_is_live_and_used_by_the_next_step():
    ws = make_weights(frozen=False)
    opt = SGD(0.1)
    opt.build(ws)
    lr = opt.learning_rate
    lr.assign(0.25)
    assert float(lr) == 0.25 and opt.learning_rate == 0.25 and opt.get_config()["learning_rate"] \
        == 0.25
    opt.learning_rate = opt.learning_rate * 2  # the one-cycle pattern
    assert float(lr) == 0.5
    lr.assign(torch.tensor(0.125, dtype=torch.float64))
    lr.assign_sub(0.025)
    lr.assign_add(np.float32(0.0))
    start = ws[0].value.clone()
    for w in ws:
        w.grad.fill_(1.0)
    opt.step()
    torch.testing.assert_close(ws[0].value, start - 0.1, rtol=0, atol=1e-12)


def test_the_step_reads_no_tensor_back_from_the_device(monkeypatch):
    """The step reads the rate as a Python float: no .item() / float(tensor), even after a tensor
    was assigned, so a CUDA step never waits for the device because of the rate."""
    ws = make_weights(frozen=False)
    opt = Adam(0.1)
    opt.build(ws)
    opt.learning_rate.assign(torch.tensor(0.05))

    def refuse(*a, **k):
        raise AssertionError("a host sync in the step")

    monkeypatch.setattr(torch.Tensor, "item", refuse)
    monkeypatch.setattr(torch.Tensor, "__float__", refuse)
    for w in ws:
        w.grad.fill_(1.0)
    opt.step()
    assert opt.iterations == 1


@pytest.mark.parametrize("bad, exc", [(-0.1, ValueError), (float("inf"), ValueError),
                                      (1j, TypeError), (torch.tensor([0.1, 0.2]), TypeError),
                                      (torch.tensor(0.1j), TypeError), ("0.1", TypeError)])
def test_assign_bad_values_raise_and_change_nothing(bad, exc):
    opt = SGD(0.1)
    with pytest.raises(exc, match="learning_rate"):
        opt.learning_rate.assign(bad)
    assert opt.learning_rate == 0.1


def test_schedule_learning_rate_is_a_read_only_snapshot():
    opt = SGD(ExponentialDecay(1.0, 1, 0.5))
    lr = opt.learning_rate
    assert lr == 1.0 and lr.numpy() == 1.0
    with pytest.raises(TypeError, match="schedule"):
        lr.assign(0.3)
    opt.iterations = 2
    assert lr == 1.0 and opt.learning_rate == 0.25


# ----- issue 9: schedules and callables are validated -----------------------------------------------
@pytest.mark.parametrize("fn, exc", [
    (lambda step: -0.1, ValueError), (lambda step: float("nan"), ValueError),
    (lambda step: float("inf"), ValueError), (lambda step: 1j, TypeError),
    (lambda step: "0.1", TypeError), (lambda: None, TypeError),
    (lambda step: 0.1 if step < 2 else -1.0, ValueError),
])
def test_bad_values_from_a_callable_raise_before_the_step(fn, exc):
    ws = make_weights(frozen=False)
    opt = SGD(fn)
    opt.build(ws)
    for w in ws:
        w.grad.fill_(1.0)
    with pytest.raises(exc, match="learning_rate"):
        for _ in range(3):
            opt.step()
    done = opt.iterations
    values = [w.value.clone() for w in ws]
    with pytest.raises(exc, match=r"learning_rate.*step"):
        opt.step()
    assert opt.iterations == done
    assert all(torch.equal(a, w.value) for a, w in zip(values, ws))


def test_a_schedule_gone_negative_is_caught_with_its_name_and_step():
    class Down(ks.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.1 - 0.1 * step

        def get_config(self):
            return {}

    ws = make_weights(frozen=False)
    opt = SGD(Down())
    opt.build(ws)
    opt.step()
    opt.step()
    with pytest.raises(ValueError, match=r"Down gave -0\.1 at step 2"):
        opt.step()
    assert opt.iterations == 2


def test_ftrl_refuses_a_zero_rate_from_a_schedule():
    opt = Ftrl(lambda step: 0.0)
    opt.build(make_weights(frozen=False))
    with pytest.raises(ValueError, match="> 0"):
        opt.step()


def test_keras2_lr_attribute_points_to_learning_rate():
    opt = Adam(0.01)
    with pytest.raises(AttributeError, match="learning_rate"):
        _ = opt.lr
    with pytest.raises(AttributeError, match="learning_rate"):
        opt.lr = 0.1
    with pytest.raises(AttributeError, match="no attribute 'momentumm'"):
        _ = opt.momentumm
    assert not hasattr(opt, "lr") and opt.learning_rate == 0.01
