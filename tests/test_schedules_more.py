"""InverseTimeDecay, PolynomialDecay, CosineDecayRestarts (Keras 3.16's formulas, written out here
independently) and the argument checks every schedule makes at construction (issue 9)."""

import json
import math

import pytest

import kerasette as ks
from kerasette.optimizers.schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    PiecewiseConstantDecay,
    PolynomialDecay,
    deserialize,
    serialize,
)


def keras_sgdr(step, lr0, first, t_mul, m_mul, alpha):
    """Keras's CosineDecayRestarts.__call__, transcribed with math.*."""
    fraction = step / first
    if t_mul == 1.0:
        i = math.floor(fraction)
        fraction -= i
    else:
        i = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
        sum_r = (1.0 - t_mul ** i) / (1.0 - t_mul)
        fraction = (fraction - sum_r) / t_mul ** i
    decayed = 0.5 * m_mul ** i * (1.0 + math.cos(math.pi * fraction))
    return lr0 * ((1 - alpha) * decayed + alpha)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    sched = InverseTimeDecay(0.5, 10, 0.3, staircase=staircase)
    for step in range(0, 60, 3):
        p = math.floor(step / 10) if staircase else step / 10
        assert sched(step) == pytest.approx(0.5 / (1 + 0.3 * p), rel=1e-15)


@pytest.mark.parametrize("power", [1.0, 0.5, 2.0])
def test_polynomial_decay_without_cycle_stays_at_the_end(power):
    sched = PolynomialDecay(0.1, 20, end_learning_rate=0.01, power=power)
    for step in range(0, 50):
        p = min(step, 20) / 20
        assert sched(step) == pytest.approx((0.1 - 0.01) * (1 - p) ** power + 0.01, rel=1e-15)
    assert sched(0) == 0.1 and sched(20) == 0.01 and sched(1000) == 0.01


def test_polynomial_decay_with_cycle_restarts_from_lower_points():
    sched = PolynomialDecay(1.0, 10, end_learning_rate=0.0, cycle=True)
    assert sched(0) == 1.0 and sched(5) == 0.5 and sched(10) == 0.0
    assert sched(11) == pytest.approx(1 - 11 / 20)  # decay_steps doubled: 20
    assert sched(25) == pytest.approx(1 - 25 / 30)


@pytest.mark.parametrize("t_mul, m_mul, alpha", [(2.0, 1.0, 0.0), (1.0, 0.5, 0.1),
                                                 (1.5, 0.8, 0.05), (0.5, 0.9, 0.0)])
def test_cosine_decay_restarts_matches_keras_formula(t_mul, m_mul, alpha):
    sched = CosineDecayRestarts(0.2, 10, t_mul=t_mul, m_mul=m_mul, alpha=alpha)
    last = 19 if t_mul < 1 else 200  # t_mul=0.5: the periods sum to 20 steps
    for step in range(last):
        want = keras_sgdr(step, 0.2, 10, t_mul, m_mul, alpha)
        assert sched(step) == pytest.approx(want, rel=1e-12, abs=1e-15), step


def test_cosine_decay_restarts_restarts_at_the_peaks():
    sched = CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5)
    assert sched(0) == 1.0
    assert sched(10) == pytest.approx(0.5)      # second period: 20 steps, peak 0.5
    assert sched(20) == pytest.approx(0.25)     # its middle
    assert sched(30) == pytest.approx(0.25)     # third period, peak 0.25
    assert sched(9) < 0.03


def test_cosine_decay_restarts_with_shrinking_periods_says_when_it_runs_out():
    sched = CosineDecayRestarts(1.0, 10, t_mul=0.5)
    with pytest.raises(ValueError, match="step 25"):
        sched(25)


@pytest.mark.parametrize("sched", [
    InverseTimeDecay(0.1, 7, 0.5, staircase=True),
    PolynomialDecay(0.1, 9, end_learning_rate=0.001, power=2.0, cycle=True),
    CosineDecayRestarts(0.1, 5, t_mul=1.5, m_mul=0.9, alpha=0.01, name="sgdr"),
])
def test_serialization_roundtrip_through_json_and_an_optimizer(sched):
    again = deserialize(json.loads(json.dumps(serialize(sched))))
    assert type(again) is type(sched) and again.get_config() == sched.get_config()
    assert [again(s) for s in range(30)] == [sched(s) for s in range(30)]
    opt = ks.optimizers.Adam(sched)
    rebuilt = ks.optimizers.deserialize(json.loads(json.dumps(ks.optimizers.serialize(opt))))
    assert rebuilt.get_config()["learning_rate"] == serialize(sched)


def test_keras_config_keys():
    assert set(CosineDecayRestarts(0.1, 5).get_config()) == {
        "initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name"}
    assert CosineDecayRestarts(0.1, 5).name == "SGDRDecay"
    assert set(PolynomialDecay(0.1, 5).get_config()) == {
        "initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name"}
    assert PolynomialDecay(0.1, 5).end_learning_rate == 0.0001


def test_deserialize_with_missing_arguments_names_the_class():
    with pytest.raises(TypeError, match="PolynomialDecay.*decay_steps"):
        deserialize({"class_name": "PolynomialDecay", "config": {"initial_learning_rate": 0.1}})


# ----- issue 9: checked at construction, like a float learning rate ----------------------------------
@pytest.mark.parametrize("make, exc, match", [
    (lambda: ExponentialDecay(0.1, 2, -0.5), ValueError, "decay_rate"),  # complex rates
    (lambda: ExponentialDecay(-0.1, 2, 0.5), ValueError, "initial_learning_rate"),
    (lambda: ExponentialDecay(float("inf"), 2, 0.5), ValueError, "initial_learning_rate"),
    (lambda: ExponentialDecay(float("nan"), 2, 0.5), ValueError, "initial_learning_rate"),
    (lambda: ExponentialDecay(0.1, float("inf"), 0.5), ValueError, "decay_steps"),
    (lambda: ExponentialDecay(0.1, 2, 0.5, staircase="no"), TypeError, "staircase"),
    (lambda: ExponentialDecay(0.1, 2, 0.5, name=3), TypeError, "name"),
    (lambda: PiecewiseConstantDecay([10], [0.1, -0.01]), ValueError, r"values\[1\]"),
    (lambda: PiecewiseConstantDecay([10], [float("inf"), 0.1]), ValueError, r"values\[0\]"),
    (lambda: CosineDecay(-1.0, 10), ValueError, "initial_learning_rate"),
    (lambda: CosineDecay(0.1, 10, alpha=2.0), ValueError, "alpha"),
    (lambda: CosineDecay(0.1, 10, warmup_target=-0.2, warmup_steps=5), ValueError,
     "warmup_target"),
    (lambda: InverseTimeDecay(0.1, 0, 0.5), ValueError, "decay_steps"),
    (lambda: InverseTimeDecay(0.1, 10, -0.5), ValueError, "decay_rate"),
    (lambda: InverseTimeDecay(0.1, 10, 0.5, staircase=1), TypeError, "staircase"),
    (lambda: PolynomialDecay(0.1, 10, end_learning_rate=-1e-3), ValueError, "end_learning_rate"),
    (lambda: PolynomialDecay(0.1, 10, power=-1.0), ValueError, "power"),
    (lambda: PolynomialDecay(0.1, 10, cycle="yes"), TypeError, "cycle"),
    (lambda: CosineDecayRestarts(0.1, 0), ValueError, "first_decay_steps"),
    (lambda: CosineDecayRestarts(0.1, 10, t_mul=0.0), ValueError, "t_mul"),
    (lambda: CosineDecayRestarts(0.1, 10, m_mul=-0.5), ValueError, "m_mul"),
    (lambda: CosineDecayRestarts(0.1, 10, alpha=-0.1), ValueError, "alpha"),
])
def test_bad_schedule_arguments_raise_at_construction(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
