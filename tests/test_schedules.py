"""Learning-rate schedules against Keras 3's formulas computed by hand at chosen steps."""

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kerasette as ks
from kerasette.layers.base import Weight
from kerasette.optimizers.schedules import (
    CosineDecay,
    ExponentialDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    deserialize,
    serialize,
)


@pytest.mark.parametrize("step, want", [(0, 0.1), (50, 0.1 * 0.96 ** 0.5), (100, 0.096),
                                        (1000, 0.1 * 0.96 ** 10), (250, 0.1 * 0.96 ** 2.5)])
def test_exponential_decay(step, want):
    assert ExponentialDecay(0.1, 100, 0.96)(step) == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("step, want", [(0, 0.1), (99, 0.1), (100, 0.096), (150, 0.096),
                                        (250, 0.1 * 0.96 ** 2)])
def test_exponential_decay_staircase(step, want):
    assert ExponentialDecay(0.1, 100, 0.96, staircase=True)(step) == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("step, want", [(0, 1.0), (10, 1.0), (11, 0.5), (10.5, 0.5), (20, 0.5),
                                        (21, 0.1), (10 ** 6, 0.1)])
def test_piecewise_constant_decay_boundaries_belong_to_the_lower_interval(step, want):
    assert PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(step) == want


def test_piecewise_constant_with_no_boundary_is_constant():
    assert PiecewiseConstantDecay([], [0.3])(12345) == 0.3


@pytest.mark.parametrize("alpha, step, want", [
    (0.0, 0, 1.0), (0.0, 5, 0.5), (0.0, 10, 0.0), (0.0, 25, 0.0),
    (0.1, 5, 0.9 * 0.5 + 0.1), (0.1, 10, 0.1), (0.1, 99, 0.1),
    (0.0, 2, 0.5 * (1 + math.cos(math.pi * 0.2))),
])
def test_cosine_decay(alpha, step, want):
    assert CosineDecay(1.0, 10, alpha=alpha)(step) == pytest.approx(want, abs=1e-15)


@pytest.mark.parametrize("initial, step, want", [
    (0.0, 0, 0.0), (0.0, 5, 0.5), (0.0, 10, 1.0), (0.0, 15, 0.5), (0.0, 20, 0.0), (0.0, 99, 0.0),
    (0.1, 5, 0.1 + 0.9 * 0.5), (0.1, 0, 0.1),
])
def test_cosine_decay_with_warmup(initial, step, want):
    sched = CosineDecay(initial, 10, warmup_target=1.0, warmup_steps=10)
    assert sched(step) == pytest.approx(want, abs=1e-15)


def test_cosine_decay_with_warmup_target_and_no_warmup_steps_decays_from_the_target():
    assert CosineDecay(0.1, 10, warmup_target=2.0)(5) == pytest.approx(1.0, abs=1e-15)


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-5, 10), steps=st.integers(1, 1000), step=st.integers(0, 5000),
       alpha=st.floats(0, 1))
def test_cosine_decay_stays_between_alpha_and_peak(lr, steps, step, alpha):
    value = CosineDecay(lr, steps, alpha=alpha)(step)
    assert lr * alpha - 1e-12 <= value <= lr + 1e-12


@pytest.mark.parametrize("sched", [ExponentialDecay(0.1, 7, 0.5, staircase=True),
                                   PiecewiseConstantDecay([3, 8], [0.3, 0.2, 0.1]),
                                   CosineDecay(0.0, 20, alpha=0.05, warmup_target=0.2,
                                               warmup_steps=5)],
                         ids=lambda s: type(s).__name__)
def test_serialize_roundtrip_through_json(sched):
    again = deserialize(json.loads(json.dumps(serialize(sched))))
    assert type(again) is type(sched) and again.get_config() == sched.get_config()
    assert [again(s) for s in range(30)] == [sched(s) for s in range(30)]


@pytest.mark.parametrize("make, exc, match", [
    (lambda: ExponentialDecay(0.1, 0, 0.5), ValueError, "decay_steps"),
    (lambda: ExponentialDecay(0.1, -3, 0.5), ValueError, "decay_steps"),
    (lambda: ExponentialDecay("0.1", 10, 0.5), TypeError, "initial_learning_rate"),
    (lambda: CosineDecay(0.1, 0), ValueError, "decay_steps"),
    (lambda: CosineDecay(0.1, 10, warmup_steps=-1), ValueError, "warmup_steps"),
    (lambda: PiecewiseConstantDecay([1, 2], [0.1, 0.2]), ValueError, "one more value"),
    (lambda: PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]), ValueError, "increasing"),
    (lambda: PiecewiseConstantDecay([1, "a"], [0.1, 0.2, 0.3]), TypeError, r"boundaries\[1\]"),
    (lambda: deserialize({"class_name": "NoSuchDecay", "config": {}}), ValueError,
     "NoSuchDecay"),
])
def test_bad_arguments_raise(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_a_custom_schedule_drives_an_optimizer():
    class Halving(LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / 2 ** step

        def get_config(self):
            return {}

    opt = ks.optimizers.SGD(Halving())
    w = Weight(torch.zeros(3, dtype=torch.float64), "w")
    opt.build([w])
    for _ in range(3):
        w.grad.fill_(1.0)
        opt.step()
    assert w.value.tolist() == [-1.75] * 3
    assert opt.learning_rate == 0.125
