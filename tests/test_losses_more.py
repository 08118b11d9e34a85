"""The remaining Keras 3 losses (hinge, log-cosh, KL, Poisson, cosine, MAPE, MSLE, focal): the
hand-written gradient against float64 central differences and against torch autograd on Keras's
math (Keras 3.16 `keras/src/losses/losses.py`, written again below with plain torch ops), sample
weights and reductions, deterministic property tests, torch.nn.functional where it has the op,
serialization round trips and argument checks.

Data are generated away from every kink (hinge margins at 0, ties in a max, |d| = 0 for MAPE) and
from every clip boundary, so central differences are meaningful.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from test_losses import ref_reduce, weights_for

from kerasette import losses
from kerasette.testing import check_gradients

EPS = 1e-7
F64 = torch.float64
PROPERTY_SETTINGS = settings(max_examples=10, deadline=None, derandomize=True)


# ----- Keras's math with torch ops (the oracle; autograd differentiates it) ---------------------
def _last_mean(e):
    return e.mean(-1) if e.dim() > 1 else e


def _signed(y):
    binary = ((y == 0) | (y == 1)).all()
    return 2 * y - 1 if binary else y


def ref_hinge(y, p):
    return _last_mean(torch.clamp(1 - _signed(y) * p, min=0))


def ref_squared_hinge(y, p):
    return _last_mean(torch.clamp(1 - _signed(y) * p, min=0) ** 2)


def ref_categorical_hinge(y, p):
    pos = (y * p).sum(-1)
    neg = ((1 - y) * p).amax(-1)
    return torch.clamp(neg - pos + 1, min=0)


def ref_log_cosh(y, p):
    return _last_mean(torch.log(torch.cosh(p - y)))


def ref_mape(y, p):
    return _last_mean(100 * ((y - p) / torch.clamp(y.abs(), min=EPS)).abs())


def ref_msle(y, p):
    return _last_mean((torch.log(torch.clamp(p, min=EPS) + 1)
                       - torch.log(torch.clamp(y, min=EPS) + 1)) ** 2)


def ref_poisson(y, p):
    return _last_mean(p - y * torch.log(p + EPS))


def ref_kld(y, p):
    t, q = y.clamp(EPS, 1), p.clamp(EPS, 1)
    e = t * torch.log(t / q)
    return e.sum(-1) if e.dim() > 1 else e


def ref_cosine(axis):
    def ref(y, p):
        return -(F.normalize(y, dim=axis, eps=EPS) * F.normalize(p, dim=axis, eps=EPS)).sum(axis)
    return ref


def ref_binary_focal(balancing=False, alpha=0.25, gamma=2.0, logits=False, ls=0.0):
    def ref(y, p):
        y = y * (1 - ls) + 0.5 * ls
        s = torch.sigmoid(p) if logits else p
        sc = s.clamp(EPS, 1 - EPS)
        bce = -(y * torch.log(sc) + (1 - y) * torch.log(1 - sc))
        p_t = y * s + (1 - y) * (1 - s)
        out = (1 - p_t) ** gamma * bce
        if balancing:
            out = (y * alpha + (1 - y) * (1 - alpha)) * out
        return _last_mean(out)
    return ref


def ref_categorical_focal(alpha=0.25, gamma=2.0, logits=False, ls=0.0):
    def ref(y, p):
        y = y * (1 - ls) + ls / p.shape[-1]
        if logits:
            p = torch.softmax(p, -1)
        r = (p / p.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
        a = torch.tensor(alpha, dtype=p.dtype) if isinstance(alpha, list) else alpha
        return (a * (1 - r) ** gamma * (-y * torch.log(r))).sum(-1)
    return ref


# ----- data away from kinks and clips ------------------------------------------------------------
def _randn(shape, gen):
    return torch.randn(shape, generator=gen, dtype=F64)


def _rand(shape, gen):
    return torch.rand(shape, generator=gen, dtype=F64)


def _signs(shape, gen):
    return torch.where(_rand(shape, gen) > 0.5, 1.0, -1.0).to(F64)


def data_hinge(binary):
    def make(shape, gen, scale):
        y = _signs(shape, gen)
        margin = _signs(shape, gen) * (0.05 + scale * _rand(shape, gen))  # |1 - y p| >= 0.05
        y_pred = y * (1 - margin)
        return ((y + 1) / 2 if binary else y), y_pred
    return make


def data_categorical_hinge(shape, gen, scale):
    y = F.one_hot(torch.randint(0, shape[-1], shape[:-1], generator=gen), shape[-1]).to(F64)
    p = _randn(shape, gen) * scale
    margin = ref_categorical_hinge(y, p)
    near = ((margin.abs() < 0.05) & (margin < 1e9)).unsqueeze(-1)
    return y, p - 0.2 * y * near  # lower the target's score: the margin leaves (-0.05, 0.05)


def data_regression(shape, gen, scale):
    return _randn(shape, gen), _randn(shape, gen) * scale


def data_mape(shape, gen, scale):
    y = _signs(shape, gen) * (0.5 + _rand(shape, gen))
    return y, y + _signs(shape, gen) * (0.05 + scale * _rand(shape, gen))


def data_msle(shape, gen, scale):
    return _rand(shape, gen) * 3 - 0.5, 0.01 + scale * _rand(shape, gen)


def data_poisson(shape, gen, scale):
    return torch.randint(0, 5, shape, generator=gen).to(F64), 0.1 + scale * _rand(shape, gen)


def data_kld(shape, gen, scale):
    return torch.softmax(_randn(shape, gen) * 2, -1), 0.02 + 0.96 * _rand(shape, gen)


def data_binary_focal(logits, hard=True):
    def make(shape, gen, scale):
        y = (_rand(shape, gen) > 0.5).to(F64) if hard else _rand(shape, gen)
        return y, (_randn(shape, gen) * scale if logits else 0.02 + 0.96 * _rand(shape, gen))
    return make


def data_categorical_focal(logits):
    def make(shape, gen, scale):
        y = torch.softmax(_randn(shape, gen) * 2, -1)
        return y, (_randn(shape, gen) * scale if logits else 0.05 + _rand(shape, gen))
    return make


# name: (loss class, constructor options, oracle per-sample function, data, per-output?)
CASES = {
    "hinge": (losses.Hinge, {}, ref_hinge, data_hinge(False), True),
    "hinge_01_labels": (losses.Hinge, {}, ref_hinge, data_hinge(True), True),
    "squared_hinge": (losses.SquaredHinge, {}, ref_squared_hinge, data_hinge(False), True),
    "squared_hinge_01": (losses.SquaredHinge, {}, ref_squared_hinge, data_hinge(True), True),
    "categorical_hinge": (losses.CategoricalHinge, {}, ref_categorical_hinge,
                          data_categorical_hinge, False),
    "log_cosh": (losses.LogCosh, {}, ref_log_cosh, data_regression, True),
    "mape": (losses.MeanAbsolutePercentageError, {}, ref_mape, data_mape, True),
    "msle": (losses.MeanSquaredLogarithmicError, {}, ref_msle, data_msle, True),
    "poisson": (losses.Poisson, {}, ref_poisson, data_poisson, True),
    "kld": (losses.KLDivergence, {}, ref_kld, data_kld, True),
    "cosine": (losses.CosineSimilarity, {}, ref_cosine(-1), data_regression, False),
    "cosine_axis1": (losses.CosineSimilarity, {"axis": 1}, ref_cosine(1), data_regression, False),
    "binary_focal": (losses.BinaryFocalCrossentropy, {}, ref_binary_focal(),
                     data_binary_focal(False), True),
    "binary_focal_balanced_ls": (
        losses.BinaryFocalCrossentropy,
        {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1},
        ref_binary_focal(True, 0.4, 1.5, False, 0.1), data_binary_focal(False, hard=False), True),
    "binary_focal_logits": (losses.BinaryFocalCrossentropy, {"from_logits": True},
                            ref_binary_focal(logits=True), data_binary_focal(True), True),
    "binary_focal_gamma0": (losses.BinaryFocalCrossentropy, {"gamma": 0.0},
                            ref_binary_focal(gamma=0.0), data_binary_focal(False), True),
    "categorical_focal": (losses.CategoricalFocalCrossentropy, {}, ref_categorical_focal(),
                          data_categorical_focal(False), False),
    "categorical_focal_logits_ls": (
        losses.CategoricalFocalCrossentropy,
        {"from_logits": True, "label_smoothing": 0.1, "gamma": 3.0},
        ref_categorical_focal(gamma=3.0, logits=True, ls=0.1), data_categorical_focal(True), False),
    "categorical_focal_alpha_list": (
        losses.CategoricalFocalCrossentropy, {"alpha": [0.2, 0.5, 0.3], "gamma": 0.5},
        ref_categorical_focal([0.2, 0.5, 0.3], 0.5), data_categorical_focal(False), False),
}


def make_loss(name, **kw):
    cls, opts, *_ = CASES[name]
    return cls(**opts, **kw)


def make_data(name, shape, gen, scale=1.0):
    return CASES[name][3](shape, gen, scale)


def oracle(name, y_true, y_pred, sample_weight=None, reduction="sum_over_batch_size"):
    y_pred = y_pred.detach().clone().requires_grad_(True)
    per_sample = CASES[name][2](y_true.to(F64), y_pred)
    value = ref_reduce(per_sample, sample_weight, reduction)
    (grad,) = torch.autograd.grad(value, y_pred)
    return value.detach(), grad


def shapes_for(name):
    if name == "categorical_focal_alpha_list":
        return [(5, 3), (4, 2, 3)]
    return [(5, 3), (4, 2, 3)] + ([(6,)] if CASES[name][4] else [])


PARAMS = [(name, shape) for name in CASES for shape in shapes_for(name)]


# ----- central differences and the autograd oracle -----------------------------------------------
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
@pytest.mark.parametrize("name,shape", PARAMS)
def test_gradient_matches_central_differences_and_autograd(name, shape, reduction):
    gen = torch.Generator().manual_seed(11)
    loss = make_loss(name, reduction=reduction)
    y_true, y_pred = make_data(name, shape, gen, scale=2.0)
    for w in weights_for(shape[0], gen):
        errors = check_gradients(loss, y_pred, y_true=y_true, sample_weight=w)
        assert errors["input"] < 1e-6, (name, shape, w)
        value, backward = loss.forward(y_true, y_pred, sample_weight=w)
        dy_pred = backward()
        ref_value, ref_grad = oracle(name, y_true, y_pred, w, reduction)
        assert value.shape == () and dy_pred.shape == y_pred.shape
        torch.testing.assert_close(value, ref_value)
        torch.testing.assert_close(dy_pred, ref_grad)
        torch.testing.assert_close(loss(y_true, y_pred, sample_weight=w), ref_value)


@pytest.mark.parametrize("name,shape", PARAMS)
def test_reduction_none_gives_weighted_per_sample_losses(name, shape):
    gen = torch.Generator().manual_seed(12)
    loss = make_loss(name, reduction=None)
    y_true, y_pred = make_data(name, shape, gen)
    for w in weights_for(shape[0], gen):
        expected = ref_reduce(CASES[name][2](y_true, y_pred), w, None)
        torch.testing.assert_close(loss(y_true, y_pred, sample_weight=w), expected)
    with pytest.raises(ValueError, match="reduction"):
        loss.forward(y_true, y_pred)


# ----- properties (deterministic: derandomize=True) ----------------------------------------------
@st.composite
def problems(draw, name):
    n = draw(st.integers(1, 5))
    per_output = CASES[name][4]
    k = 3 if name == "categorical_focal_alpha_list" else draw(st.integers(1 if per_output else 2, 4))
    rank = draw(st.sampled_from([1, 2, 3] if per_output else [2, 3]))
    shape = {1: (n,), 2: (n, k), 3: (n, 2, k)}[rank]
    scale = draw(st.floats(0.1, 5.0))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    y_true, y_pred = make_data(name, shape, gen, scale)
    kind = draw(st.sampled_from(["none", "scalar", "vector"]))
    w = None if kind == "none" else (
        draw(st.floats(0.0, 3.0)) if kind == "scalar" else _rand((n,), gen) * 3)
    return y_true, y_pred, w


@pytest.mark.parametrize("name", sorted(CASES))
@PROPERTY_SETTINGS
@given(data=st.data(), reduction=st.sampled_from(["sum_over_batch_size", "sum"]))
def test_property_gradient_agrees_with_autograd_and_central_differences(name, data, reduction):
    y_true, y_pred, w = data.draw(problems(name))
    loss = make_loss(name, reduction=reduction)
    value, backward = loss.forward(y_true, y_pred, sample_weight=w)
    ref_value, ref_grad = oracle(name, y_true, y_pred, w, reduction)
    torch.testing.assert_close(value, ref_value)
    torch.testing.assert_close(backward(), ref_grad)
    error = check_gradients(loss, y_pred, y_true=y_true, sample_weight=w)["input"]
    assert error < 1e-6 or error * 2 * float(ref_grad.norm()) < 1e-9


@pytest.mark.parametrize("name", sorted(CASES))
@PROPERTY_SETTINGS
@given(data=st.data(), factor=st.floats(0.1, 5.0))
def test_property_reductions_and_weights_follow_keras_rule(name, data, factor):
    y_true, y_pred, _ = data.draw(problems(name))
    n = y_pred.shape[0]
    vector = make_loss(name, reduction=None)(y_true, y_pred)
    mean_loss = make_loss(name)
    torch.testing.assert_close(make_loss(name, reduction="sum")(y_true, y_pred), vector.sum())
    torch.testing.assert_close(mean_loss(y_true, y_pred), vector.sum() / vector.numel())
    value, backward = mean_loss.forward(y_true, y_pred)
    scaled, scaled_backward = mean_loss.forward(y_true, y_pred, torch.full((n,), factor))
    torch.testing.assert_close(scaled, value * factor)
    torch.testing.assert_close(scaled_backward(), backward() * factor)
    w = torch.ones(n, dtype=F64)
    w[0] = 0.0
    zero_value, zero_backward = mean_loss.forward(y_true, y_pred, w)
    assert torch.all(zero_backward()[0] == 0)
    torch.testing.assert_close(zero_value, vector[1:].sum() / vector.numel())
    perm = torch.arange(n - 1, -1, -1)
    value_p, backward_p = mean_loss.forward(y_true[perm], y_pred[perm])
    torch.testing.assert_close(value_p, value)
    torch.testing.assert_close(backward_p(), backward()[perm])


# ----- values against torch.nn.functional and Keras's documented examples --------------------------
def test_values_match_torch_functional_where_it_has_the_op():
    gen = torch.Generator().manual_seed(3)
    y, p = data_poisson((6, 4), gen, 2.0)
    torch.testing.assert_close(
        losses.Poisson(reduction=None)(y, p),
        F.poisson_nll_loss(p, y, log_input=False, eps=EPS, reduction="none").mean(-1))
    t, q = data_kld((6, 4), gen, 1.0)
    torch.testing.assert_close(losses.KLDivergence(reduction=None)(t, q),
                               F.kl_div(q.log(), t, reduction="none").sum(-1))
    a, b = _randn((6, 4), gen), _randn((6, 4), gen)
    torch.testing.assert_close(losses.CosineSimilarity(reduction=None)(a, b),
                               -F.cosine_similarity(a, b, dim=-1))
    y, p = data_hinge(False)((6, 4), gen, 1.0)
    torch.testing.assert_close(losses.Hinge(reduction=None)(y, p),
                               F.relu(1 - y * p).mean(-1))
    y, p = data_binary_focal(False)((6, 4), gen, 1.0)
    torch.testing.assert_close(losses.BinaryFocalCrossentropy(gamma=0.0)(y, p),
                               losses.BinaryCrossentropy()(y, p))
    y, p = data_categorical_focal(True)((6, 4), gen, 2.0)
    torch.testing.assert_close(
        losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0, from_logits=True)(y, p),
        losses.CategoricalCrossentropy(from_logits=True)(y, p))


def test_keras_documented_examples():
    # numbers from the docstrings of Keras 3.16 keras/src/losses/losses.py
    y_true = torch.tensor([100.0, 200.0, 300.0])
    y_pred = torch.tensor([90.0, 210.0, 310.0])
    assert losses.MeanAbsolutePercentageError()(y_true, y_pred).item() == pytest.approx(
        6.111111, rel=1e-6)
    per_sample = losses.cosine_similarity(torch.tensor([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]]),
                                          torch.tensor([[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]))
    torch.testing.assert_close(per_sample, torch.tensor([0.0, -1.0, 1.0]))
    assert losses.log_cosh(torch.tensor([[0.0, 1.0], [0.0, 0.0]]),
                           torch.tensor([[1.0, 1.0], [0.0, 0.0]])).mean().item() == \
        pytest.approx(0.108, abs=1e-3)
    focal = losses.binary_focal_crossentropy(torch.tensor([[0.0, 1.0], [0.0, 0.0]]),
                                             torch.tensor([[0.6, 0.4], [0.4, 0.6]]), gamma=2.0)
    torch.testing.assert_close(focal, torch.tensor([0.330, 0.206]), atol=1e-3, rtol=0)
    cfocal = losses.categorical_focal_crossentropy(
        torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
        torch.tensor([[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]))
    torch.testing.assert_close(cfocal, torch.tensor([2.63401289e-04, 6.75912094e-01]))


# ----- edges: clips, hinge labels, large errors --------------------------------------------------
def test_clipped_entries_get_the_gradient_autograd_gives():
    kld_y = torch.tensor([[0.2, 0.3, 0.5, 0.0]], dtype=F64)
    kld_p = torch.tensor([[1.5, 1e-9, 0.4, 0.3]], dtype=F64)  # above 1 and below eps: no gradient
    msle_y = torch.tensor([[1.0, 2.0, -1.0]], dtype=F64)
    msle_p = torch.tensor([[-0.5, 1e-9, 2.0]], dtype=F64)
    for name, y, p in (("kld", kld_y, kld_p), ("msle", msle_y, msle_p)):
        value, backward = make_loss(name).forward(y, p)
        ref_value, ref_grad = oracle(name, y, p)
        torch.testing.assert_close(value, ref_value)
        torch.testing.assert_close(backward(), ref_grad)
    grad = make_loss("kld").forward(kld_y, kld_p)[1]()
    assert grad[0, 0] == 0 and grad[0, 1] == 0
    # saturated sigmoid: bce is clipped (no gradient from it) but the focal factor still moves
    z = torch.tensor([[30.0, -30.0, 0.5]], dtype=F64)
    y = torch.tensor([[0.0, 1.0, 1.0]], dtype=F64)
    loss = losses.BinaryFocalCrossentropy(from_logits=True)
    value, backward = loss.forward(y, z)
    ref_value, ref_grad = oracle("binary_focal_logits", y, z)
    torch.testing.assert_close(value, ref_value)
    torch.testing.assert_close(backward(), ref_grad)
    assert torch.isfinite(backward()).all()


def test_hinge_converts_only_all_binary_label_batches():
    p = torch.tensor([[0.3], [-0.2]], dtype=F64)
    zero_one = losses.Hinge(reduction=None)(torch.tensor([[1.0], [0.0]], dtype=F64), p)
    signed = losses.Hinge(reduction=None)(torch.tensor([[1.0], [-1.0]], dtype=F64), p)
    torch.testing.assert_close(zero_one, signed)
    # a batch with a -1 is taken as is: the 0 label stays 0 (margin 1)
    mixed = losses.Hinge(reduction=None)(torch.tensor([[0.0], [-1.0]], dtype=F64), p)
    torch.testing.assert_close(mixed, torch.tensor([1.0, 0.8], dtype=F64))


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_large_errors_stay_finite(dtype):
    d = torch.tensor([[1e4, -1e4, 0.0]], dtype=dtype)
    value, backward = losses.LogCosh().forward(torch.zeros_like(d), d)
    assert value.item() == pytest.approx((2e4 - 2 * math.log(2)) / 3, rel=1e-6)
    torch.testing.assert_close(backward(), torch.tensor([[1.0, -1.0, 0.0]], dtype=dtype) / 3)
    zero = torch.zeros(2, 3, dtype=dtype)
    value, backward = losses.CosineSimilarity().forward(torch.ones(2, 3, dtype=dtype), zero)
    assert value.item() == 0.0 and torch.isfinite(backward()).all()


# ----- names, ids, serialization, argument checks ------------------------------------------------
IDS = {
    "hinge": (losses.Hinge, "hinge"), "squared_hinge": (losses.SquaredHinge, "squared_hinge"),
    "categorical_hinge": (losses.CategoricalHinge, "categorical_hinge"),
    "log_cosh": (losses.LogCosh, "log_cosh"), "logcosh": (losses.LogCosh, "log_cosh"),
    "kl_divergence": (losses.KLDivergence, "kl_divergence"),
    "kld": (losses.KLDivergence, "kl_divergence"), "KLD": (losses.KLDivergence, "kl_divergence"),
    "poisson": (losses.Poisson, "poisson"),
    "cosine_similarity": (losses.CosineSimilarity, "cosine_similarity"),
    "mape": (losses.MeanAbsolutePercentageError, "mean_absolute_percentage_error"),
    "mean_absolute_percentage_error": (losses.MeanAbsolutePercentageError,
                                       "mean_absolute_percentage_error"),
    "msle": (losses.MeanSquaredLogarithmicError, "mean_squared_logarithmic_error"),
    "MSLE": (losses.MeanSquaredLogarithmicError, "mean_squared_logarithmic_error"),
    "binary_focal_crossentropy": (losses.BinaryFocalCrossentropy, "binary_focal_crossentropy"),
    "categorical_focal_crossentropy": (losses.CategoricalFocalCrossentropy,
                                       "categorical_focal_crossentropy"),
    "BinaryFocalCrossentropy": (losses.BinaryFocalCrossentropy, "binary_focal_crossentropy"),
    "bce": (losses.BinaryCrossentropy, "binary_crossentropy"),
}


@pytest.mark.parametrize("ident", sorted(IDS))
def test_string_ids_and_default_names(ident):
    cls, name = IDS[ident]
    loss = losses.get(ident)
    assert type(loss) is cls and loss.name == name and loss.reduction == "sum_over_batch_size"


def test_keras_defaults():
    b = losses.BinaryFocalCrossentropy()
    assert (b.apply_class_balancing, b.alpha, b.gamma, b.from_logits, b.label_smoothing,
            b.axis) == (False, 0.25, 2.0, False, 0.0, -1)
    c = losses.CategoricalFocalCrossentropy()
    assert (c.alpha, c.gamma, c.from_logits, c.label_smoothing, c.axis) == (0.25, 2.0, False, 0.0,
                                                                           -1)
    assert losses.CosineSimilarity().axis == -1


@pytest.mark.parametrize("loss", [
    losses.Hinge(reduction="sum", name="h"), losses.SquaredHinge(), losses.CategoricalHinge(),
    losses.LogCosh(), losses.KLDivergence(reduction=None), losses.Poisson(),
    losses.CosineSimilarity(axis=1), losses.MeanAbsolutePercentageError(),
    losses.MeanSquaredLogarithmicError(),
    losses.BinaryFocalCrossentropy(True, 0.3, 1.0, True, 0.1, -1, "sum", "bf"),
    losses.CategoricalFocalCrossentropy(alpha=[0.1, 0.9], gamma=0.5, from_logits=True),
])
def test_serialize_round_trips(loss):
    config = losses.serialize(loss)
    assert config["class_name"] == type(loss).__name__
    again = losses.deserialize(config)
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert type(loss).from_config(loss.get_config()).get_config() == loss.get_config()


@pytest.mark.parametrize("factory, error, match", [
    (lambda: losses.BinaryFocalCrossentropy(gamma=-1.0), ValueError, "gamma"),
    (lambda: losses.BinaryFocalCrossentropy(alpha="0.5"), ValueError, "alpha"),
    (lambda: losses.BinaryFocalCrossentropy(apply_class_balancing=1), TypeError,
     "apply_class_balancing"),
    (lambda: losses.BinaryFocalCrossentropy(label_smoothing=2.0), ValueError, "label_smoothing"),
    (lambda: losses.CategoricalFocalCrossentropy(alpha=[]), ValueError, "alpha"),
    (lambda: losses.CategoricalFocalCrossentropy(alpha=[0.1, "a"]), ValueError, "alpha"),
    (lambda: losses.CategoricalFocalCrossentropy(from_logits=None), TypeError, "from_logits"),
    (lambda: losses.CategoricalFocalCrossentropy(axis=1.0), TypeError, "axis"),
    (lambda: losses.CosineSimilarity(axis="x"), TypeError, "axis"),
    (lambda: losses.Hinge(reduction="mean_of_all"), ValueError, "reduction"),
])
def test_bad_arguments_raise_naming_the_argument(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


def test_bad_shapes_raise_naming_the_loss():
    with pytest.raises(ValueError, match="categorical_hinge.*shape"):
        losses.CategoricalHinge()(torch.ones(4), torch.ones(4))
    with pytest.raises(ValueError, match="hinge.*incompatible"):
        losses.Hinge()(torch.ones(4, 2), torch.ones(4, 3))
    with pytest.raises(ValueError, match="cosine_similarity.*axis"):
        losses.CosineSimilarity(axis=0)(torch.ones(4, 2), torch.ones(4, 2))
    with pytest.raises(ValueError, match="alpha has 2 entries"):
        losses.CategoricalFocalCrossentropy(alpha=[0.5, 0.5])(torch.ones(4, 3), torch.ones(4, 3))
    with pytest.raises(ValueError, match="one-hot"):
        losses.CategoricalFocalCrossentropy()(torch.ones(4), torch.ones(4, 3))
