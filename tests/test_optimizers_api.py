"""Optimizer plumbing: building on flat buffers, frozen weights, learning rate, state for resuming,
moving, config and ids, and the validation of hyperparameters."""

import io
import json

import pytest
import torch
from test_optimizers_helpers import SHAPES, SPECS, gradient_stream, make_weights, spec_id

import kerasette as ks
from kerasette.layers.base import Weight
from kerasette.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
from kerasette.optimizers.schedules import CosineDecay, ExponentialDecay, PiecewiseConstantDecay


def make_opt(spec, **extra):
    name, kw = spec
    return ks.optimizers.get({"class_name": name, "config": {**kw, **extra}})


def train(opt, ws, grads, steps):
    trainable = [w for w in ws if w.trainable]
    for _ in range(steps):
        for w, g in zip(trainable, next(grads)):
            w.grad.copy_(g)
        opt.step()


# ----- building ---------------------------------------------------------------------------------
def test_build_packs_trainable_weights_as_views_of_the_buffer():
    ws = make_weights()
    opt = Adam()
    opt.build(ws)
    trainable = [w for w in ws if w.trainable]
    assert opt.buffer.weights == trainable
    assert len(opt.buffer) == sum(w.numel() for w in trainable)
    opt.buffer.params.fill_(3.0)
    opt.buffer.grads.fill_(4.0)
    assert all(bool((w.value == 3.0).all()) and bool((w.grad == 4.0).all()) for w in trainable)
    frozen = ws[2]
    assert not frozen.trainable and frozen._buffer is None
    assert not bool((frozen.value == 3.0).all())


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_frozen_weights_never_change(spec):
    ws = make_weights()
    frozen = ws[2]
    before, grad_before = frozen.value.clone(), frozen.grad.clone()
    opt = make_opt(spec, weight_decay=0.1, clipnorm=0.5)
    opt.build(ws)
    train(opt, ws, gradient_stream(SHAPES), 10)
    opt.step_per_weight()
    opt.zero_grad()
    assert torch.equal(frozen.value, before) and torch.equal(frozen.grad, grad_before)
    assert not torch.equal(ws[0].value, make_weights()[0].value)


@pytest.mark.parametrize("weights", [[], "all-frozen"])
def test_build_without_trainable_weights_raises(weights):
    if weights == "all-frozen":
        weights = [Weight(torch.zeros(2), "a", trainable=False)]
    with pytest.raises(ValueError, match="no trainable weights"):
        SGD().build(weights)


def test_build_again_with_same_weights_keeps_state():
    ws = make_weights()
    opt = Adam(0.01)
    opt.build(ws)
    train(opt, ws, gradient_stream(SHAPES), 3)
    buffer, slots = opt.buffer, opt.get_state()["slots"]
    opt.build(ws)
    assert opt.buffer is buffer and opt.iterations == 3
    for k, s in opt.get_state()["slots"].items():
        assert torch.equal(s, slots[k]) and bool(s.abs().sum() > 0)


def test_build_with_other_weights_starts_fresh():
    ws = make_weights()
    opt = Adam(0.01)
    opt.build(ws)
    train(opt, ws, gradient_stream(SHAPES), 3)
    other = make_weights(seed=5, shapes=[(5,)], frozen=False)
    opt.build(other)
    assert opt.buffer.weights == other and opt.iterations == 0
    assert all(bool((s == 0).all()) for s in opt.get_state()["slots"].values())


def test_zero_grad_zeroes_every_trainable_gradient():
    ws = make_weights()
    opt = SGD()
    opt.build(ws)
    for w in ws:
        w.grad.fill_(2.0)
    opt.zero_grad()
    assert all(bool((w.grad == 0).all()) for w in ws if w.trainable)
    assert bool((ws[2].grad == 2.0).all())  # frozen: not the optimizer's


@pytest.mark.parametrize("method", ["step", "step_per_weight", "zero_grad", "get_state"])
def test_using_an_unbuilt_optimizer_raises(method):
    with pytest.raises(RuntimeError, match="not built"):
        getattr(SGD(), method)()


def test_step_counts_iterations_and_follows_sgd_rule():
    ws = make_weights(frozen=False)
    opt = SGD(learning_rate=0.5)
    opt.build(ws)
    start = [w.value.clone() for w in ws]
    for w in ws:
        w.grad.fill_(1.0)
    opt.step()
    opt.step_per_weight()
    assert opt.iterations == 2
    for w, s in zip(ws, start):
        torch.testing.assert_close(w.value, s - 1.0, rtol=0, atol=1e-15)


def test_step_follows_a_buffer_moved_without_optimizer_to():
    """The model moves its buffer (FlatBuffer.to); the next step moves the state along."""
    ws = make_weights(frozen=False)
    opt = Adam(0.01)
    opt.build(ws)
    train(opt, ws, gradient_stream(SHAPES), 2)
    opt.buffer.to(dtype=torch.float32)
    opt.step()
    assert all(s.dtype == torch.float32 for s in opt.get_state()["slots"].values())
    assert ws[0].value.dtype == torch.float32 and opt.iterations == 3


def test_to_moves_state_and_training_goes_on():
    ws64, ws32 = make_weights(frozen=False), make_weights(frozen=False)
    a, b = RMSprop(0.01, momentum=0.5), RMSprop(0.01, momentum=0.5)
    a.build(ws64)
    b.build(ws32)
    grads = gradient_stream(SHAPES)
    gs = [next(grads) for _ in range(6)]
    train(a, ws64, iter(gs), 6)
    train(b, ws32, iter(gs[:3]), 3)
    b.buffer.to(dtype=torch.float32)
    b.to(dtype=torch.float32)
    assert all(s.dtype == torch.float32 for s in b.get_state()["slots"].values())
    train(b, ws32, iter(gs[3:]), 3)
    for x, y in zip(ws64, ws32):
        torch.testing.assert_close(y.value, x.value.float(), atol=1e-5, rtol=1e-5)


def test_repacked_with_other_weights_raises_clearly():
    ws = make_weights(frozen=False)
    opt = SGD()
    opt.build(ws)
    ks.flat.pack(ws[:2])  # someone re-packed part of the weights elsewhere
    with pytest.raises(RuntimeError, match="build"):
        opt.step()


# ----- learning rate ------------------------------------------------------------------------------
def test_learning_rate_is_settable_and_used_by_the_next_step():
    ws = make_weights(frozen=False)
    opt = SGD(0.1)
    opt.build(ws)
    assert opt.learning_rate == 0.1
    opt.learning_rate = 0.25
    start = ws[0].value.clone()
    for w in ws:
        w.grad.fill_(1.0)
    opt.step()
    assert opt.learning_rate == 0.25
    torch.testing.assert_close(ws[0].value, start - 0.25, rtol=0, atol=1e-15)


@pytest.mark.parametrize("bad, exc", [(-0.1, ValueError), ("0.1", TypeError),
                                      (float("nan"), ValueError), (None, TypeError)])
def test_setting_a_bad_learning_rate_raises(bad, exc):
    opt = SGD(0.1)
    with pytest.raises(exc, match="learning_rate"):
        opt.learning_rate = bad
    assert opt.learning_rate == 0.1


def test_schedule_gives_the_rate_at_the_current_iteration_and_is_not_settable():
    sched = PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
    ws = make_weights(frozen=False)
    opt = SGD(sched)
    opt.build(ws)
    seen = []
    for _ in range(6):
        seen.append(opt.learning_rate)
        for w in ws:
            w.grad.fill_(0.0)
        opt.step()
    assert seen == [1.0, 1.0, 1.0, 0.5, 0.5, 0.1]
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.3
    opt.learning_rate = ExponentialDecay(1.0, 1, 0.5)  # replacing the schedule is allowed
    assert opt.learning_rate == 0.5 ** 6


def test_callables_of_the_step_and_without_argument():
    ws = make_weights(frozen=False)
    opt = SGD(lambda step: 1.0 / (1 + step))
    opt.build(ws)
    for w in ws:
        w.grad.zero_()
    opt.step()
    opt.step()
    assert opt.learning_rate == 1.0 / 3
    assert SGD(lambda: 0.07).learning_rate == 0.07  # Keras 3 style: no argument


def test_schedule_drives_the_update():
    ws = make_weights(frozen=False)
    opt = SGD(ExponentialDecay(0.2, 1, 0.5))
    opt.build(ws)
    start = ws[0].value.clone()
    for w in ws:
        w.grad.fill_(1.0)
    for _ in range(3):
        opt.step()
    torch.testing.assert_close(ws[0].value, start - (0.2 + 0.1 + 0.05), rtol=0, atol=1e-15)


# ----- state for resuming -------------------------------------------------------------------------
def roundtrip(state):
    f = io.BytesIO()
    torch.save(state, f)
    f.seek(0)
    return torch.load(f, weights_only=True)


@pytest.mark.parametrize("schedule", [False, True], ids=["const-lr", "schedule"])
@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_resume_from_state_is_exact(spec, schedule):
    extra = {"clipnorm": 1.0, "weight_decay": 0.01}
    if schedule:
        extra["learning_rate"] = ExponentialDecay(spec[1]["learning_rate"], 4, 0.7)
    all_grads = [g for g, _ in zip(gradient_stream(SHAPES), range(20))]

    ws = make_weights()
    straight = make_opt(spec, **extra)
    straight.build(ws)
    train(straight, ws, iter(all_grads), 20)

    first_ws = make_weights()
    first = make_opt(spec, **extra)
    first.build(first_ws)
    train(first, first_ws, iter(all_grads[:10]), 10)
    state = roundtrip(first.get_state())
    saved_values = [w.value.clone() for w in first_ws]

    resumed_ws = make_weights()
    for w, v in zip(resumed_ws, saved_values):
        w.assign(v)
    resumed = ks.optimizers.deserialize(roundtrip(ks.optimizers.serialize(first)))
    resumed.build(resumed_ws)
    resumed.set_state(state)
    assert resumed.iterations == 10
    train(resumed, resumed_ws, iter(all_grads[10:]), 10)
    for a, b in zip(resumed_ws, ws):
        assert torch.equal(a.value, b.value)


def test_state_restores_a_learning_rate_set_by_a_callback():
    ws = make_weights(frozen=False)
    opt = Adam(0.01)
    opt.build(ws)
    opt.learning_rate = 0.003
    state = roundtrip(opt.get_state())
    other = Adam(0.01)
    other.build(make_weights(frozen=False))
    other.set_state(state)
    assert other.learning_rate == 0.003


def test_get_state_is_a_snapshot():
    ws = make_weights()
    opt = Adam(0.01)
    opt.build(ws)
    grads = gradient_stream(SHAPES)
    train(opt, ws, grads, 2)
    state = opt.get_state()
    m = state["slots"]["momentum"].clone()
    train(opt, ws, grads, 2)
    assert torch.equal(state["slots"]["momentum"], m) and state["iterations"] == 2


def test_get_state_holds_only_plain_types():
    opt = RMSprop(CosineDecay(0.1, 10), momentum=0.5, centered=True)
    opt.build(make_weights())
    state = opt.get_state()
    assert set(state["slots"]) == {"velocity", "momentum", "average_gradient"}
    assert state["learning_rate"] == {"class_name": "CosineDecay",
                                      "config": CosineDecay(0.1, 10).get_config()}
    roundtrip(state)  # weights_only=True accepts it


@pytest.mark.parametrize("mutate, exc, match", [
    (lambda s: s.update(class_name="SGD"), ValueError, "state of a Adam"),
    (lambda s: s["slots"].pop("velocity"), ValueError, "slots"),
    (lambda s: s["slots"].update(velocity=torch.zeros(3)), ValueError, "velocity"),
    (lambda s: s.update(iterations=-1), ValueError, "iterations"),
    (lambda s: s.update(learning_rate=-1.0), ValueError, "learning_rate"),
])
def test_set_state_rejects_bad_state_before_changing_anything(mutate, exc, match):
    ws = make_weights()
    opt = Adam(0.01)
    opt.build(ws)
    train(opt, ws, gradient_stream(SHAPES), 2)
    bad = opt.get_state()
    mutate(bad)
    before = opt.get_state()
    with pytest.raises(exc, match=match):
        opt.set_state(bad)
    after = opt.get_state()
    assert after["iterations"] == 2 and after["learning_rate"] == 0.01
    assert all(torch.equal(after["slots"][k], before["slots"][k]) for k in before["slots"])


def test_set_state_before_build_raises():
    opt = Adam()
    opt.build(make_weights())
    state = opt.get_state()
    with pytest.raises(RuntimeError, match="build"):
        Adam().set_state(state)


# ----- config and ids -----------------------------------------------------------------------------
KERAS_DEFAULTS = [
    (SGD, {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "name": "SGD"}),
    (Adam, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
            "amsgrad": False, "name": "adam"}),
    (AdamW, {"learning_rate": 0.001, "weight_decay": 0.004, "epsilon": 1e-7, "name": "adamw"}),
    (RMSprop, {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
               "centered": False, "name": "rmsprop"}),
    (Adagrad, {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7,
               "name": "adagrad"}),
]


@pytest.mark.parametrize("cls, defaults", KERAS_DEFAULTS, ids=lambda x: getattr(x, "__name__", ""))
def test_keras_defaults(cls, defaults):
    config = cls().get_config()
    for k, v in defaults.items():
        assert config[k] == v, k
    assert config["clipnorm"] is None and config["clipvalue"] is None
    assert config["global_clipnorm"] is None


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_config_roundtrip_is_json_and_equal(spec):
    opt = make_opt(spec, clipvalue=0.3, learning_rate=ExponentialDecay(0.1, 10, 0.9))
    data = json.loads(json.dumps(ks.optimizers.serialize(opt)))
    again = ks.optimizers.deserialize(data)
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    assert type(opt).from_config(opt.get_config()).get_config() == opt.get_config()


@pytest.mark.parametrize("ident, cls", [("sgd", SGD), ("Adam", Adam), ("ADAMW", AdamW),
                                        ("rmsprop", RMSprop), ("RMSprop", RMSprop),
                                        ("adagrad", Adagrad), (Adam, Adam),
                                        ({"class_name": "SGD", "config": {"momentum": 0.5}}, SGD)])
def test_get_by_id_class_and_dict(ident, cls):
    assert type(ks.optimizers.get(ident)) is cls


def test_get_returns_instances_as_is_and_rejects_unknown():
    opt = Adam()
    assert ks.optimizers.get(opt) is opt
    with pytest.raises(ValueError, match=r"'adafactor'.*adagrad.*adam.*adamw.*rmsprop.*sgd"):
        ks.optimizers.get("adafactor")
    with pytest.raises(ValueError, match="Adafactor"):
        ks.optimizers.get({"class_name": "Adafactor", "config": {}})
    with pytest.raises(TypeError, match="optimizer"):
        ks.optimizers.get(3)


def test_from_config_accepts_keras_only_keys_at_their_defaults():
    keras_like = {"name": "adam", "learning_rate": 0.002, "use_ema": False, "ema_momentum": 0.99,
                  "ema_overwrite_frequency": None, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}
    assert Adam.from_config(keras_like).learning_rate == 0.002
    with pytest.raises(ValueError, match="use_ema"):
        Adam.from_config({**keras_like, "use_ema": True})


# ----- hyperparameter validation ------------------------------------------------------------------
BAD = [
    (SGD, {"learning_rate": -0.1}, ValueError, "learning_rate"),
    (SGD, {"learning_rate": float("nan")}, ValueError, "learning_rate"),
    (SGD, {"learning_rate": float("inf")}, ValueError, "learning_rate"),
    (SGD, {"learning_rate": "0.1"}, TypeError, "learning_rate"),
    (SGD, {"momentum": 1.0}, ValueError, "momentum"),
    (SGD, {"momentum": -0.1}, ValueError, "momentum"),
    (SGD, {"momentum": True}, TypeError, "momentum"),
    (SGD, {"nesterov": "yes"}, TypeError, "nesterov"),
    (SGD, {"weight_decay": -0.01}, ValueError, "weight_decay"),
    (SGD, {"clipnorm": -1.0}, ValueError, "clipnorm"),
    (SGD, {"clipnorm": 0.0}, ValueError, "clipnorm"),
    (SGD, {"clipvalue": -1.0}, ValueError, "clipvalue"),
    (SGD, {"global_clipnorm": -1.0}, ValueError, "global_clipnorm"),
    (SGD, {"clipnorm": 1.0, "clipvalue": 1.0}, ValueError, "at most one"),
    (SGD, {"clipnorm": 1.0, "global_clipnorm": 1.0}, ValueError, "at most one"),
    (SGD, {"name": 3}, TypeError, "name"),
    (Adam, {"beta_1": 1.0}, ValueError, "beta_1"),
    (Adam, {"beta_1": -0.5}, ValueError, "beta_1"),
    (Adam, {"beta_2": 1.5}, ValueError, "beta_2"),
    (Adam, {"epsilon": 0.0}, ValueError, "epsilon"),
    (Adam, {"epsilon": -1e-7}, ValueError, "epsilon"),
    (Adam, {"amsgrad": 1}, TypeError, "amsgrad"),
    (AdamW, {"weight_decay": None}, ValueError, "weight_decay"),
    (AdamW, {"beta_2": 1.0}, ValueError, "beta_2"),
    (RMSprop, {"rho": 1.0}, ValueError, "rho"),
    (RMSprop, {"rho": -0.1}, ValueError, "rho"),
    (RMSprop, {"momentum": 1.2}, ValueError, "momentum"),
    (RMSprop, {"epsilon": 0}, ValueError, "epsilon"),
    (RMSprop, {"centered": None}, TypeError, "centered"),
    (Adagrad, {"initial_accumulator_value": -0.1}, ValueError, "initial_accumulator_value"),
    (Adagrad, {"epsilon": 0.0}, ValueError, "epsilon"),
    (Adagrad, {"learning_rate": [0.1]}, TypeError, "learning_rate"),
]


@pytest.mark.parametrize("cls, kwargs, exc, arg", BAD,
                         ids=[f"{c.__name__}-{'-'.join(k)}" for c, k, _, _ in BAD])
def test_bad_hyperparameters_raise_naming_the_argument(cls, kwargs, exc, arg):
    with pytest.raises(exc) as info:
        cls(**kwargs)
    msg = str(info.value)
    assert arg in msg
    if exc is ValueError and arg in kwargs:  # ... and the value received
        value = kwargs[arg]
        assert repr(value if value is None else float(value)) in msg


def test_integers_are_accepted_as_floats():
    opt = SGD(learning_rate=1, momentum=0)
    assert opt.learning_rate == 1.0 and isinstance(opt.momentum, float)
