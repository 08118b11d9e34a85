"""Losses: hand-written gradients vs central differences and torch autograd, values vs
torch.nn.functional and Keras's reduction rule, numerical stability, fusion with activations.

The oracle below writes each loss's math (as Keras states it) with plain torch ops and lets torch
autograd differentiate it; the library's backward is never involved in it.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from kinks import away_from

from kerasette import losses
from kerasette.testing import check_gradients

EPS = 1e-7  # kerasette.config.epsilon(), as Keras's
F64 = torch.float64


# ----- the oracle: Keras's math in torch ops, differentiated by autograd -------------------------
def ref_per_sample(cfg, y_true, y_pred):
    """Per-sample losses (shape y_pred.shape[:-1], or (N,) for 1-D y_pred) as Keras defines them."""
    kind, opts = cfg["kind"], cfg["opts"]
    last = (lambda e: e.mean(-1)) if y_pred.dim() > 1 else (lambda e: e)
    if kind in ("mse", "mae", "huber", "bce"):
        y = y_true.to(F64).reshape(y_pred.shape)
    if kind == "mse":
        return last((y_pred - y) ** 2)
    if kind == "mae":
        return last((y_pred - y).abs())
    if kind == "huber":
        d, delta = y_pred - y, opts.get("delta", 1.0)
        return last(torch.where(d.abs() <= delta, 0.5 * d * d, delta * d.abs() - 0.5 * delta ** 2))
    if kind == "bce":
        ls = opts.get("label_smoothing", 0.0)
        y = y * (1 - ls) + 0.5 * ls
        if opts.get("from_logits", False):
            return last(F.binary_cross_entropy_with_logits(y_pred, y, reduction="none"))
        p = y_pred.clamp(EPS, 1 - EPS)
        return last(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))
    n_classes = y_pred.shape[-1]
    if kind == "scce":
        y = F.one_hot(y_true.reshape(y_pred.shape[:-1]).long(), n_classes).to(F64)
        ls = 0.0
    else:
        y, ls = y_true.to(F64), opts.get("label_smoothing", 0.0)
    y = y * (1 - ls) + ls / n_classes
    if opts.get("from_logits", False):
        return -(y * torch.log_softmax(y_pred, -1)).sum(-1)
    q = (y_pred / y_pred.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
    return -(y * torch.log(q)).sum(-1)


def ref_reduce(per_sample, sample_weight, reduction):
    """Keras's rule: weighted losses, then sum, or sum / (number of losses), or none."""
    if sample_weight is not None:
        w = torch.as_tensor(sample_weight, dtype=F64)
        if w.dim() > 0:
            w = w.reshape(w.shape[0], *[1] * (per_sample.dim() - 1))
        per_sample = per_sample * w
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "sum_over_batch_size":
        return per_sample.sum() / per_sample.numel()
    return per_sample


def oracle(cfg, y_true, y_pred, sample_weight=None, reduction="sum_over_batch_size"):
    """(value, dvalue/dy_pred) by autograd."""
    y_pred = y_pred.detach().clone().requires_grad_(True)
    value = ref_reduce(ref_per_sample(cfg, y_true, y_pred), sample_weight, reduction)
    (grad,) = torch.autograd.grad(value, y_pred)
    return value.detach(), grad


# ----- the cases --------------------------------------------------------------------------------
def make_loss(cfg, **kw):
    cls = {"mse": losses.MeanSquaredError, "mae": losses.MeanAbsoluteError,
           "huber": losses.Huber, "bce": losses.BinaryCrossentropy,
           "cce": losses.CategoricalCrossentropy,
           "scce": losses.SparseCategoricalCrossentropy}[cfg["kind"]]
    return cls(**cfg["opts"], **kw)


def make_data(cfg, shape, gen, scale=1.0):
    """(y_true, y_pred) for a loss config: y_pred of `shape`, values away from any clip or kink."""
    kind, logits = cfg["kind"], cfg["opts"].get("from_logits", False)

    def randn(*s):
        return torch.randn(s, generator=gen, dtype=F64)

    def rand(*s):
        return torch.rand(s, generator=gen, dtype=F64)

    if kind in ("mse", "mae", "huber"):
        y_true = randn(*shape)
        error = randn(*shape) * scale
        if kind == "mae":       # |e| has a kink at e = 0
            error = away_from(error, [0.0])
        if kind == "huber":     # its gradient is continuous, its slope's slope jumps at |e| = delta
            delta = cfg["opts"].get("delta", 1.0)
            error = away_from(error, [-delta, delta])
        return y_true, y_true + error
    if kind == "bce":
        y_true = (rand(*shape) > 0.5).to(F64) if cfg.get("hard") else rand(*shape)
        return y_true, (randn(*shape) * scale if logits else 0.02 + 0.96 * rand(*shape))
    # probabilities need not sum to 1 (Keras renormalises them): exercise that path too
    y_pred = randn(*shape) * scale if logits else 0.05 + rand(*shape)
    if kind == "scce":
        return torch.randint(0, shape[-1], shape[:-1], generator=gen), y_pred
    return torch.softmax(randn(*shape) * 2, -1), y_pred


CONFIGS = {
    "mse": {"kind": "mse", "opts": {}},
    "mae": {"kind": "mae", "opts": {}},
    "huber": {"kind": "huber", "opts": {}},
    "huber_delta_0.3": {"kind": "huber", "opts": {"delta": 0.3}},
    "bce": {"kind": "bce", "opts": {}, "hard": True},
    "bce_soft_ls": {"kind": "bce", "opts": {"label_smoothing": 0.2}},
    "bce_logits": {"kind": "bce", "opts": {"from_logits": True}, "hard": True},
    "bce_logits_ls": {"kind": "bce", "opts": {"from_logits": True, "label_smoothing": 0.1}},
    "cce": {"kind": "cce", "opts": {}},
    "cce_ls": {"kind": "cce", "opts": {"label_smoothing": 0.15}},
    "cce_logits": {"kind": "cce", "opts": {"from_logits": True}},
    "cce_logits_ls": {"kind": "cce", "opts": {"from_logits": True, "label_smoothing": 0.1}},
    "scce": {"kind": "scce", "opts": {}},
    "scce_logits": {"kind": "scce", "opts": {"from_logits": True}},
}
ELEMENTWISE = [k for k, c in CONFIGS.items() if c["kind"] in ("mse", "mae", "huber", "bce")]


def shapes_for(name):
    """2-D and 3-D predictions for every loss; 1-D (one output per sample) for per-output ones."""
    return [(5, 3), (4, 2, 3)] + ([(6,)] if name in ELEMENTWISE else [])


def weights_for(n, gen):
    return [None, 0.7, torch.rand(n, generator=gen, dtype=F64) + 0.1,
            torch.rand(n, 1, generator=gen, dtype=F64)]


CASES = [(name, shape) for name in CONFIGS for shape in shapes_for(name)]


# ----- (1) central differences, (2) the autograd oracle ----------------------------------------
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
@pytest.mark.parametrize("name,shape", CASES)
def test_gradient_matches_central_differences(name, shape, reduction):
    cfg, gen = CONFIGS[name], torch.Generator().manual_seed(1)
    loss = make_loss(cfg, reduction=reduction)
    y_true, y_pred = make_data(cfg, shape, gen)
    for w in weights_for(shape[0], gen):
        errors = check_gradients(loss, y_pred, y_true=y_true, sample_weight=w)
        assert errors["input"] < 1e-6, (name, shape, w)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
@pytest.mark.parametrize("name,shape", CASES)
def test_value_and_gradient_match_autograd_oracle(name, shape, reduction):
    cfg, gen = CONFIGS[name], torch.Generator().manual_seed(2)
    loss = make_loss(cfg, reduction=reduction)
    y_true, y_pred = make_data(cfg, shape, gen, scale=3.0)
    for w in weights_for(shape[0], gen):
        value, backward = loss.forward(y_true, y_pred, sample_weight=w)
        dy_pred = backward()
        ref_value, ref_grad = oracle(cfg, y_true, y_pred, w, reduction)
        assert value.shape == () and dy_pred.shape == y_pred.shape
        torch.testing.assert_close(value, ref_value)
        torch.testing.assert_close(dy_pred, ref_grad)
        torch.testing.assert_close(loss(y_true, y_pred, sample_weight=w), ref_value)


@pytest.mark.parametrize("name,shape", CASES)
def test_reduction_none_gives_weighted_per_sample_losses(name, shape):
    cfg, gen = CONFIGS[name], torch.Generator().manual_seed(3)
    loss = make_loss(cfg, reduction=None)
    y_true, y_pred = make_data(cfg, shape, gen)
    for w in weights_for(shape[0], gen):
        expected = ref_reduce(ref_per_sample(cfg, y_true, y_pred), w, None)
        torch.testing.assert_close(loss(y_true, y_pred, sample_weight=w), expected)
    with pytest.raises(ValueError, match="reduction"):
        loss.forward(y_true, y_pred)


def test_backward_can_be_called_twice_and_returns_fresh_tensors():
    y_pred = torch.randn(4, 3, dtype=F64)
    y_true = torch.softmax(torch.randn(4, 3, dtype=F64), -1)
    for loss in (losses.CategoricalCrossentropy(from_logits=True), losses.MeanSquaredError(),
                 losses.BinaryCrossentropy(from_logits=True)):
        _, backward = loss.forward(y_true, y_pred, sample_weight=torch.ones(4, dtype=F64))
        first = backward()
        first.zero_()
        torch.testing.assert_close(backward(), oracle(_cfg_of(loss), y_true, y_pred, None)[1])


def _cfg_of(loss):
    kind = {losses.MeanSquaredError: "mse", losses.CategoricalCrossentropy: "cce",
            losses.BinaryCrossentropy: "bce"}[type(loss)]
    return {"kind": kind, "opts": {"from_logits": getattr(loss, "from_logits", False)}}


# ----- gradients where the probabilities are clipped ------------------------------------------
def test_clipped_probabilities_get_the_gradient_autograd_gives():
    p = torch.tensor([[0.0, 1e-9, EPS, 0.3, 1 - EPS, 1.0]], dtype=F64)
    y = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0, 0.0]], dtype=F64)
    cfg = CONFIGS["bce"]
    value, backward = losses.BinaryCrossentropy().forward(y, p)
    ref_value, ref_grad = oracle(cfg, y, p)
    torch.testing.assert_close(value, ref_value)
    torch.testing.assert_close(backward(), ref_grad)
    assert backward()[0, 0] == 0 and backward()[0, 5] == 0  # clipped: zero gradient

    probs = torch.tensor([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]], dtype=F64)
    for name, y_true in [("cce", torch.eye(3, dtype=F64)[[1, 1, 2]]),
                         ("scce", torch.tensor([1, 1, 2]))]:
        loss = make_loss(CONFIGS[name])
        value, backward = loss.forward(y_true, probs)
        ref_value, ref_grad = oracle(CONFIGS[name], y_true, probs)
        torch.testing.assert_close(value, ref_value)
        torch.testing.assert_close(backward(), ref_grad)
        assert torch.isfinite(backward()).all()


# ----- (3) values against torch.nn.functional ---------------------------------------------------
def _data(shape, seed=4):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=F64), torch.randn(shape, generator=gen,
                                                                      dtype=F64)


@pytest.mark.parametrize("shape", [(7, 3), (7,), (2, 3, 4)])
def test_regression_values_match_torch_functional(shape):
    y_true, y_pred = _data(shape)
    torch.testing.assert_close(losses.MeanSquaredError()(y_true, y_pred),
                               F.mse_loss(y_pred, y_true))
    torch.testing.assert_close(losses.MeanAbsoluteError()(y_true, y_pred),
                               F.l1_loss(y_pred, y_true))
    for delta in (1.0, 0.25, 3.0):
        torch.testing.assert_close(losses.Huber(delta)(y_true, y_pred),
                                   F.huber_loss(y_pred, y_true, delta=delta))


def test_regression_per_sample_losses_are_means_over_the_last_axis():
    y_true, y_pred = _data((5, 4))
    per = losses.MeanSquaredError(reduction="none")(y_true, y_pred)
    torch.testing.assert_close(per, F.mse_loss(y_pred, y_true, reduction="none").mean(-1))
    total = losses.MeanAbsoluteError(reduction="sum")(y_true, y_pred)
    torch.testing.assert_close(total, F.l1_loss(y_pred, y_true, reduction="none").mean(-1).sum())


@pytest.mark.parametrize("shape", [(7, 3), (7,)])
def test_binary_crossentropy_values_match_torch_functional(shape):
    gen = torch.Generator().manual_seed(5)
    y = (torch.rand(shape, generator=gen) > 0.5).to(F64)
    z = torch.randn(shape, generator=gen, dtype=F64) * 3
    torch.testing.assert_close(losses.BinaryCrossentropy(from_logits=True)(y, z),
                               F.binary_cross_entropy_with_logits(z, y))
    p = 0.01 + 0.98 * torch.rand(shape, generator=gen, dtype=F64)  # away from the clip
    torch.testing.assert_close(losses.BinaryCrossentropy()(y, p), F.binary_cross_entropy(p, y))
    smoothed = y * 0.8 + 0.1
    torch.testing.assert_close(losses.BinaryCrossentropy(True, label_smoothing=0.2)(y, z),
                               F.binary_cross_entropy_with_logits(z, smoothed))
    torch.testing.assert_close(losses.BinaryCrossentropy(label_smoothing=0.2)(y, p),
                               F.binary_cross_entropy(p, smoothed))


def test_categorical_crossentropy_values_match_torch_cross_entropy():
    gen = torch.Generator().manual_seed(6)
    z = torch.randn(8, 5, generator=gen, dtype=F64) * 2
    idx = torch.randint(0, 5, (8,), generator=gen)
    onehot = F.one_hot(idx, 5).to(F64)
    soft = torch.softmax(torch.randn(8, 5, generator=gen, dtype=F64), -1)
    p = 0.05 + torch.rand(8, 5, generator=gen, dtype=F64)  # unnormalised: Keras renormalises
    cce, cce_logits = losses.CategoricalCrossentropy(), losses.CategoricalCrossentropy(True)
    torch.testing.assert_close(cce_logits(onehot, z), F.cross_entropy(z, idx))
    torch.testing.assert_close(cce_logits(soft, z), F.cross_entropy(z, soft))
    # on probabilities: log(p / sum p) = log_softmax(log p)
    torch.testing.assert_close(cce(soft, p), F.cross_entropy(p.log(), soft))
    for ls in (0.1, 0.3):
        torch.testing.assert_close(losses.CategoricalCrossentropy(True, ls)(onehot, z),
                                   F.cross_entropy(z, idx, label_smoothing=ls))
        torch.testing.assert_close(losses.CategoricalCrossentropy(False, ls)(soft, p),
                                   F.cross_entropy(p.log(), soft, label_smoothing=ls))
    torch.testing.assert_close(losses.SparseCategoricalCrossentropy(True)(idx, z),
                               F.cross_entropy(z, idx))
    torch.testing.assert_close(losses.SparseCategoricalCrossentropy(True)(idx[:, None], z),
                               F.cross_entropy(z, idx))
    torch.testing.assert_close(losses.SparseCategoricalCrossentropy()(idx.to(F64), p),
                               F.cross_entropy(p.log(), idx))


def test_crossentropy_on_sequences_matches_torch_with_classes_on_axis_1():
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(3, 4, 6, generator=gen, dtype=F64)  # (N, T, C)
    idx = torch.randint(0, 6, (3, 4), generator=gen)
    expected = F.cross_entropy(z.permute(0, 2, 1), idx)
    torch.testing.assert_close(losses.SparseCategoricalCrossentropy(True)(idx, z), expected)
    onehot = F.one_hot(idx, 6).to(F64)
    torch.testing.assert_close(losses.CategoricalCrossentropy(True)(onehot, z), expected)
    # the class axis may be another one (Keras's `axis`)
    moved = losses.CategoricalCrossentropy(True, axis=1)(onehot.permute(0, 2, 1),
                                                         z.permute(0, 2, 1))
    torch.testing.assert_close(moved, expected)


def test_crossentropy_with_sample_weights_matches_weighted_torch_sum():
    gen = torch.Generator().manual_seed(8)
    z = torch.randn(6, 4, generator=gen, dtype=F64)
    idx = torch.randint(0, 4, (6,), generator=gen)
    w = torch.rand(6, generator=gen, dtype=F64)
    per = F.cross_entropy(z, idx, reduction="none")
    loss = losses.SparseCategoricalCrossentropy(True)
    torch.testing.assert_close(loss(idx, z, sample_weight=w), (per * w).sum() / 6)
    torch.testing.assert_close(losses.SparseCategoricalCrossentropy(True, reduction="sum")(
        idx, z, sample_weight=w), (per * w).sum())


# ----- Keras's reduction rule, by hand ----------------------------------------------------------
def test_sum_over_batch_size_divides_by_the_number_of_samples_not_the_weights():
    y_pred = torch.tensor([1.0, 1.0, 3.0, 3.0], dtype=F64)
    y_true = torch.zeros(4, dtype=F64)
    w = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=F64)
    # errors 1, 1, 3, 3 with weights 1, 1, 0, 0: (1 + 1 + 0 + 0) / 4 for both MSE and MAE
    assert losses.MeanSquaredError()(y_true, y_pred, sample_weight=w).item() == 0.5
    assert losses.MeanAbsoluteError()(y_true, y_pred, sample_weight=w).item() == 0.5
    assert losses.MeanSquaredError(reduction="sum")(y_true, y_pred, w).item() == 2.0
    # unweighted: (1 + 1 + 9 + 9) / 4
    assert losses.MeanSquaredError()(y_true, y_pred).item() == 5.0
    # the same with (N, 1) predictions and (N, 1) or (N,) weights
    col = y_pred[:, None]
    assert losses.MeanSquaredError()(y_true[:, None], col, sample_weight=w[:, None]).item() == 0.5
    assert losses.MeanSquaredError()(y_true, col, sample_weight=w).item() == 0.5
    # gradient of the weighted MSE: 2 * w * error / 4
    _, backward = losses.MeanSquaredError().forward(y_true, y_pred, w)
    assert backward().tolist() == [0.5, 0.5, 0.0, 0.0]


def test_multi_output_samples_average_their_outputs_then_the_batch():
    y_pred = torch.tensor([[1.0, 3.0], [1.0, 3.0]], dtype=F64)
    y_true = torch.zeros(2, 2, dtype=F64)
    w = torch.tensor([1.0, 0.0], dtype=F64)
    # per-sample MSE (1 + 9) / 2 = 5; weighted sum 5; over a batch of 2: 2.5
    assert losses.MeanSquaredError()(y_true, y_pred, sample_weight=w).item() == 2.5
    assert losses.MeanSquaredError(reduction="sum")(y_true, y_pred, sample_weight=w).item() == 5.0
    assert losses.MeanSquaredError(reduction="none")(y_true, y_pred, w).tolist() == [5.0, 0.0]
    # a scalar weight scales the loss
    assert losses.MeanSquaredError()(y_true, y_pred, sample_weight=0.5).item() == 2.5


def test_crossentropy_reduction_by_hand():
    probs = torch.tensor([[0.5, 0.5], [0.25, 0.75]], dtype=F64)
    idx = torch.tensor([0, 1])
    w = torch.tensor([2.0, 0.0], dtype=F64)
    expected = 2 * math.log(2) / 2  # (2 * -log 0.5 + 0 * -log 0.75) / 2 samples
    got = losses.SparseCategoricalCrossentropy()(idx, probs, sample_weight=w)
    assert got.item() == pytest.approx(expected, rel=1e-12)
    got = losses.CategoricalCrossentropy()(torch.eye(2, dtype=F64)[idx], probs, sample_weight=w)
    assert got.item() == pytest.approx(expected, rel=1e-12)


# ----- numerical stability ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_extreme_logits_give_finite_exact_values_and_gradients(dtype):
    z = torch.tensor([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4]], dtype=dtype)
    idx = torch.tensor([1, 1, 0])
    onehot = F.one_hot(idx, 2).to(dtype)
    for loss, y_true, expected in [
        (losses.SparseCategoricalCrossentropy(True), idx, (2e4 + 0 + math.log(2)) / 3),
        (losses.CategoricalCrossentropy(True), onehot, (2e4 + 0 + math.log(2)) / 3),
        (losses.CategoricalCrossentropy(True, label_smoothing=0.1), onehot, None),
        # BCE per output: y=0,z=1e4 -> 1e4; y=1,z=-1e4 -> 1e4; matching signs -> 0
        (losses.BinaryCrossentropy(True), onehot, (1e4 + 1e4 + 0 + 0 + 0 + 1e4) / 6),
        (losses.BinaryCrossentropy(True, label_smoothing=0.1), onehot, None),
    ]:
        value, backward = loss.forward(y_true, z)
        assert torch.isfinite(value) and torch.isfinite(backward()).all(), loss
        if expected is not None:
            assert value.item() == pytest.approx(expected, rel=1e-6)
        assert backward().abs().max() <= 1.0


def test_probabilities_zero_and_one_give_the_clipped_finite_value():
    clip_loss = -math.log(EPS)
    p = torch.tensor([[0.0, 1.0]], dtype=F64)
    wrong = torch.tensor([[1.0, 0.0]], dtype=F64)
    right = torch.tensor([[0.0, 1.0]], dtype=F64)
    bce = losses.BinaryCrossentropy()
    assert bce(wrong, p).item() == pytest.approx(clip_loss, rel=1e-9)
    assert bce(right, p).item() == pytest.approx(-math.log(1 - EPS), rel=1e-6)
    cce = losses.CategoricalCrossentropy()
    assert cce(wrong, p).item() == pytest.approx(clip_loss, rel=1e-9)
    scce = losses.SparseCategoricalCrossentropy()
    assert scce(torch.tensor([0]), p).item() == pytest.approx(clip_loss, rel=1e-9)
    for loss, y in [(bce, wrong), (cce, wrong), (scce, torch.tensor([0]))]:
        value, backward = loss.forward(y, p)
        assert torch.isfinite(value) and torch.isfinite(backward()).all()


# ----- fusion with the output activation --------------------------------------------------------
def test_fused_with_returns_the_logits_twin_only_where_it_applies():
    bce = losses.BinaryCrossentropy(label_smoothing=0.1, reduction="sum", name="bce")
    fused = bce.fused_with("sigmoid")
    assert isinstance(fused, losses.BinaryCrossentropy) and fused.from_logits
    assert (fused.label_smoothing, fused.reduction, fused.name) == (0.1, "sum", "bce")
    cce = losses.CategoricalCrossentropy(label_smoothing=0.2)
    fused = cce.fused_with("softmax")
    assert isinstance(fused, losses.CategoricalCrossentropy) and fused.from_logits
    assert (fused.label_smoothing, fused.name) == (0.2, "categorical_crossentropy")
    fused = losses.SparseCategoricalCrossentropy(reduction="sum").fused_with("softmax")
    assert isinstance(fused, losses.SparseCategoricalCrossentropy) and fused.from_logits
    assert fused.reduction == "sum"
    assert bce.fused_with("softmax") is None and cce.fused_with("sigmoid") is None
    assert losses.BinaryCrossentropy(from_logits=True).fused_with("sigmoid") is None
    assert losses.CategoricalCrossentropy(from_logits=True).fused_with("softmax") is None
    assert losses.CategoricalCrossentropy(axis=1).fused_with("softmax") is None
    assert losses.SparseCategoricalCrossentropy(True).fused_with("softmax") is None
    for loss in (losses.MeanSquaredError(), losses.MeanAbsoluteError(), losses.Huber()):
        assert loss.fused_with("sigmoid") is None and loss.fused_with("softmax") is None
    assert losses.BinaryCrossentropy().fused_with("relu") is None


@pytest.mark.parametrize("name,activation", [
    ("bce", torch.sigmoid), ("bce_soft_ls", torch.sigmoid),
    ("cce", lambda z: torch.softmax(z, -1)), ("cce_ls", lambda z: torch.softmax(z, -1)),
    ("scce", lambda z: torch.softmax(z, -1)),
])
def test_fused_gradient_is_the_chain_rule_through_the_activation(name, activation):
    cfg, gen = CONFIGS[name], torch.Generator().manual_seed(9)
    act_name = "sigmoid" if cfg["kind"] == "bce" else "softmax"
    loss = make_loss(cfg)
    fused = loss.fused_with(act_name)
    y_true, _ = make_data(cfg, (6, 4), gen)
    z = torch.randn(6, 4, generator=gen, dtype=F64) * 2  # not saturated: nothing clipped
    w = torch.rand(6, generator=gen, dtype=F64)
    value, backward = fused.forward(y_true, z, sample_weight=w)
    # unfused: the library's dL/dp pulled back through the activation by autograd
    zz = z.clone().requires_grad_(True)
    p = activation(zz)
    unfused_value, unfused_backward = loss.forward(y_true, p.detach(), sample_weight=w)
    (chain,) = torch.autograd.grad(p, zz, unfused_backward())
    torch.testing.assert_close(value, unfused_value)
    torch.testing.assert_close(backward(), chain)


def test_categorical_targets_need_not_sum_to_one():
    gen = torch.Generator().manual_seed(10)
    y_true = torch.rand(5, 4, generator=gen, dtype=F64) * 2  # e.g. multi-label or scaled targets
    for name in ("cce", "cce_logits", "cce_ls", "cce_logits_ls"):
        cfg = CONFIGS[name]
        _, y_pred = make_data(cfg, (5, 4), gen, scale=2.0)
        value, backward = make_loss(cfg).forward(y_true, y_pred)
        ref_value, ref_grad = oracle(cfg, y_true, y_pred)
        torch.testing.assert_close(value, ref_value)
        torch.testing.assert_close(backward(), ref_grad)
