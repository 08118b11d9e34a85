"""Optimizer trajectories (20 steps, float64) against torch.optim where the conventions agree, and
against Keras 3's rules written independently in test_optimizers_helpers.KerasReference, to 1e-10:
with and without clipping, weight decay and a learning-rate schedule."""

import pytest
import torch
from test_optimizers_helpers import (
    CLIPS,
    SHAPES,
    SPECS,
    KerasReference,
    exponential,
    gradient_stream,
    make_weights,
    run_kerasette,
    spec_id,
)

import kerasette as ks

STEPS = 20
TOL = {"atol": 1e-10, "rtol": 1e-10}


def kerasette_opt(name, kw, **extra):
    return ks.optimizers.get({"class_name": name, "config": {**kw, **extra}})


# ----- against Keras's formulas -------------------------------------------------------------------
@pytest.mark.parametrize("schedule", [False, True], ids=["const-lr", "schedule"])
@pytest.mark.parametrize("decay", [None, 0.05], ids=["no-wd", "wd"])
@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: next(iter(c), "no-clip"))
@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_matches_keras_formula(spec, clip, decay, schedule):
    name, kw = spec
    lr0 = kw["learning_rate"]
    extra = dict(clip)
    if decay is not None:
        extra["weight_decay"] = decay
    if schedule:
        extra["learning_rate"] = ks.optimizers.schedules.ExponentialDecay(lr0, 5, 0.5)
    opt = kerasette_opt(name, kw, **extra)
    got = run_kerasette(opt, make_weights(), gradient_stream(SHAPES), STEPS)

    ref_kw = {k: v for k, v in {**kw, **extra}.items() if k != "learning_rate"}
    ref = KerasReference(name, lr0, lr_fn=exponential(lr0) if schedule else None, **ref_kw)
    ws = [w.value.clone() for w in make_weights() if w.trainable]
    grads = gradient_stream(SHAPES)
    for _ in range(STEPS):
        ws = ref.step(ws, next(grads))
    assert opt.iterations == STEPS
    for a, b in zip(got, ws):
        torch.testing.assert_close(a, b, **TOL)


def test_the_reference_is_not_trivial():
    """Guard the guard: different rules give different trajectories, and steps move the weights."""
    outs = []
    for name, kw in SPECS[:4]:
        ws = [w.value.clone() for w in make_weights() if w.trainable]
        ref, grads = KerasReference(name, kw["learning_rate"], **{
            k: v for k, v in kw.items() if k != "learning_rate"}), gradient_stream(SHAPES)
        for _ in range(3):
            ws = ref.step(ws, next(grads))
        outs.append(ws[0])
    start = make_weights()[0].value
    assert all(not torch.allclose(o, start) for o in outs)
    assert all(not torch.allclose(outs[i], outs[j]) for i in range(4) for j in range(i))


# ----- against torch.optim ------------------------------------------------------------------------
# Where conventions agree: constant learning rate (or any schedule without momentum), SGD weight
# decay only without momentum (L2 == decoupled there), epsilon made negligible (1e-30) where Keras
# and torch place it differently (Adam, RMSprop, Adagrad). Clipping: clipvalue only (torch's
# clip_grad_norm_ divides by norm + 1e-6, a different rule).
EPS = 1e-30
TORCH_CASES = [
    ("sgd", {"learning_rate": 0.1}, lambda p: torch.optim.SGD(p, 0.1)),
    ("sgd", {"learning_rate": 0.1, "weight_decay": 0.05},
     lambda p: torch.optim.SGD(p, 0.1, weight_decay=0.05)),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9},
     lambda p: torch.optim.SGD(p, 0.1, momentum=0.9)),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
     lambda p: torch.optim.SGD(p, 0.1, momentum=0.9, nesterov=True)),
    ("adagrad", {"learning_rate": 0.1, "epsilon": EPS},
     lambda p: torch.optim.Adagrad(p, 0.1, initial_accumulator_value=0.1, eps=EPS)),
    ("rmsprop", {"learning_rate": 0.01, "epsilon": EPS},
     lambda p: torch.optim.RMSprop(p, 0.01, alpha=0.9, eps=EPS)),
    ("rmsprop", {"learning_rate": 0.01, "epsilon": EPS, "momentum": 0.5, "centered": True},
     lambda p: torch.optim.RMSprop(p, 0.01, alpha=0.9, eps=EPS, momentum=0.5, centered=True)),
    ("adam", {"learning_rate": 0.01, "epsilon": EPS},
     lambda p: torch.optim.Adam(p, 0.01, eps=EPS)),
    ("adam", {"learning_rate": 0.01, "epsilon": EPS, "amsgrad": True},
     lambda p: torch.optim.Adam(p, 0.01, eps=EPS, amsgrad=True)),
    ("adamw", {"learning_rate": 0.01, "epsilon": EPS, "weight_decay": 0.05},
     lambda p: torch.optim.AdamW(p, 0.01, eps=EPS, weight_decay=0.05)),
]


def torch_trajectory(make, steps, clipvalue=None, lr_lambda=None):
    params = [torch.nn.Parameter(w.value.clone()) for w in make_weights() if w.trainable]
    opt = make(params)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda) if lr_lambda else None
    grads = gradient_stream(SHAPES)
    for _ in range(steps):
        for p, g in zip(params, next(grads)):
            p.grad = g.clone()
        if clipvalue is not None:
            torch.nn.utils.clip_grad_value_(params, clipvalue)
        opt.step()
        if sched is not None:
            sched.step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("clipvalue", [None, 0.5], ids=["no-clip", "clipvalue"])
@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: spec_id(c[:2]) if isinstance(c, tuple)
                         else None)
def test_matches_torch_optim(case, clipvalue):
    name, kw, make = case
    extra = {} if clipvalue is None else {"clipvalue": clipvalue}
    got = run_kerasette(kerasette_opt(name, kw, **extra), make_weights(),
                        gradient_stream(SHAPES), STEPS)
    want = torch_trajectory(make, STEPS, clipvalue)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("case", [TORCH_CASES[0], TORCH_CASES[7], TORCH_CASES[9]],
                         ids=["sgd", "adam", "adamw"])
def test_schedule_matches_torch_lambda_lr(case):
    """Without momentum buffers that carry old rates, a Keras schedule is torch's LambdaLR."""
    name, kw, make = case
    lr0 = kw["learning_rate"]
    sched = ks.optimizers.schedules.ExponentialDecay(lr0, 5, 0.5)
    got = run_kerasette(kerasette_opt(name, kw, learning_rate=sched), make_weights(),
                        gradient_stream(SHAPES), STEPS)
    want = torch_trajectory(make, STEPS, lr_lambda=lambda t: 0.5 ** (t / 5))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **TOL)


def test_sgd_momentum_with_changing_rate_follows_keras_not_torch():
    """The documented difference: Keras's velocity keeps old rates' steps, torch's buffer does
    not. kerasette matches Keras (checked above) and so must differ from torch here."""
    kw = {"learning_rate": 0.1, "momentum": 0.9}
    sched = ks.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5)
    got = run_kerasette(kerasette_opt("sgd", kw, learning_rate=sched), make_weights(),
                        gradient_stream(SHAPES), STEPS)
    want = torch_trajectory(TORCH_CASES[2][2], STEPS, lr_lambda=lambda t: 0.5 ** (t / 5))
    assert (got[0] - want[0]).abs().max() > 1e-3
