"""Constraints: projections against Keras 3's formulas (written out here), string ids and defaults,
axes, config round trips and bad arguments."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasette import constraints

SETTINGS = settings(max_examples=25, deadline=None)
EPS = 1e-7  # Keras's backend.epsilon()


def norms(w, axis):
    return torch.sqrt(torch.sum(w ** 2, dim=axis, keepdim=True))


def test_max_norm_formula_default_axis_0():
    w = torch.tensor([[3.0, 0.1], [4.0, 0.2]], dtype=torch.float64)  # column norms 5 and ~0.22
    out = constraints.MaxNorm()(w)
    n = norms(w, 0)
    torch.testing.assert_close(out, w * n.clamp(0, 2) / (EPS + n))
    assert out[:, 0].norm().item() == pytest.approx(2.0, rel=1e-6)   # shrunk to max_value
    torch.testing.assert_close(out[:, 1], w[:, 1], rtol=1e-6, atol=0)  # already inside: unchanged


def test_non_neg():
    w = torch.tensor([-1.0, 0.0, 2.5])
    assert constraints.NonNeg()(w).tolist() == [0.0, 0.0, 2.5]


def test_unit_norm_formula():
    w = torch.randn(4, 3, dtype=torch.float64)
    out = constraints.UnitNorm()(w)
    torch.testing.assert_close(out, w / (EPS + norms(w, 0)))
    torch.testing.assert_close(out.norm(dim=0), torch.ones(3, dtype=torch.float64), rtol=1e-6,
                               atol=0)


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), seed=st.integers(0, 2**31 - 1),
       max_value=st.floats(0.1, 3), min_value=st.floats(0, 1), rate=st.floats(0, 1))
def test_norm_constraints_property(shape, seed, max_value, min_value, rate):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    axis = list(range(len(shape) - 1))  # a conv-style kernel: one norm per output unit
    n = norms(w, axis)
    torch.testing.assert_close(constraints.MaxNorm(max_value, axis=axis)(w),
                               w * n.clamp(0, max_value) / (EPS + n))
    torch.testing.assert_close(constraints.UnitNorm(axis=axis)(w), w / (EPS + n))
    hi = min_value + max_value
    desired = rate * n.clamp(min_value, hi) + (1 - rate) * n
    torch.testing.assert_close(constraints.MinMaxNorm(min_value, hi, rate, axis)(w),
                               w * desired / (EPS + n))
    assert (norms(constraints.MaxNorm(max_value, axis)(w), axis) <= max_value + 1e-9).all()


def test_negative_axis():
    w = torch.randn(3, 5, dtype=torch.float64)
    torch.testing.assert_close(constraints.UnitNorm(axis=-1)(w), w / (EPS + norms(w, -1)))


@pytest.mark.parametrize("ident, cls, config", [
    ("max_norm", constraints.MaxNorm, {"max_value": 2.0, "axis": 0}),
    ("MaxNorm", constraints.MaxNorm, {"max_value": 2.0, "axis": 0}),
    ("non_neg", constraints.NonNeg, {}), ("NonNeg", constraints.NonNeg, {}),
    ("unit_norm", constraints.UnitNorm, {"axis": 0}),
    ("min_max_norm", constraints.MinMaxNorm,
     {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
])
def test_string_ids_and_defaults(ident, cls, config):
    c = constraints.get(ident)
    assert type(c) is cls and c.get_config() == config


def test_aliases():
    assert constraints.max_norm is constraints.MaxNorm
    assert constraints.non_neg is constraints.NonNeg
    assert constraints.unit_norm is constraints.UnitNorm


@pytest.mark.parametrize("c", [constraints.MaxNorm(3.0, axis=[0, 1]), constraints.NonNeg(),
                               constraints.UnitNorm(axis=1), constraints.MinMaxNorm(0.5, 2, 0.3)])
def test_serialize_round_trip(c):
    spec = constraints.serialize(c)
    assert spec["class_name"] == type(c).__name__
    clone = constraints.get(spec)
    assert type(clone) is type(c) and clone.get_config() == c.get_config()


def test_none_and_callables():
    assert constraints.get(None) is None and constraints.serialize(None) is None

    def clip(w):
        return w.clamp(-1, 1)
    assert constraints.get(clip) is clip
    with pytest.raises(ValueError, match="custom constraint"):
        constraints.serialize(clip)


@pytest.mark.parametrize("make, exc, name", [
    (lambda: constraints.MaxNorm(-1), ValueError, "max_value"),
    (lambda: constraints.MaxNorm(math.inf), ValueError, "max_value"),
    (lambda: constraints.MaxNorm(2, axis=0.5), TypeError, "axis"),
    (lambda: constraints.UnitNorm(axis=[]), TypeError, "axis"),
    (lambda: constraints.MinMaxNorm(2.0, 1.0), ValueError, "max_value"),
    (lambda: constraints.MinMaxNorm(rate=-0.1), ValueError, "rate"),
    (lambda: constraints.get("maxnorm"), ValueError, "constraint"),
    (lambda: constraints.get(2), TypeError, "constraint"),
    (lambda: constraints.deserialize({"class_name": "Clip"}), ValueError, "constraint"),
])
def test_bad_arguments_name_them(make, exc, name):
    with pytest.raises(exc, match=f"Invalid {name}|Unknown {name}|{name}"):
        make()
