"""Property tests of every loss over batch sizes (1 included), numbers of outputs/classes, ranks,
value scales, sample weights and reductions: the hand-written gradient agrees with autograd and
with central differences, and the reductions relate as Keras's rule says."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_losses import CONFIGS, ELEMENTWISE, make_data, make_loss, oracle, ref_per_sample

from kerasette.testing import check_gradients

F64 = torch.float64
PROPERTY_SETTINGS = settings(max_examples=12, deadline=None)


@st.composite
def problems(draw, name):
    """(y_true, y_pred, shape) for the loss config `name`."""
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1 if name in ELEMENTWISE else 2, 5))
    ranks = [1, 2, 3] if name in ELEMENTWISE else [2, 3]
    rank = draw(st.sampled_from(ranks))
    shape = {1: (n,), 2: (n, k), 3: (n, 2, k)}[rank]
    scale = draw(st.floats(0.1, 10.0))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    y_true, y_pred = make_data(CONFIGS[name], shape, gen, scale=scale)
    return y_true, y_pred, shape


@st.composite
def sample_weights(draw, n):
    kind = draw(st.sampled_from(["none", "scalar", "vector", "column"]))
    if kind == "none":
        return None
    if kind == "scalar":
        return draw(st.floats(0.0, 3.0))
    values = draw(st.lists(st.floats(0.0, 3.0), min_size=n, max_size=n))
    w = torch.tensor(values, dtype=F64)
    return w if kind == "vector" else w[:, None]


@pytest.mark.parametrize("name", sorted(CONFIGS))
@PROPERTY_SETTINGS
@given(data=st.data(), reduction=st.sampled_from(["sum_over_batch_size", "sum"]))
def test_gradient_agrees_with_autograd_and_central_differences(name, data, reduction):
    y_true, y_pred, shape = data.draw(problems(name))
    w = data.draw(sample_weights(shape[0]))
    cfg = CONFIGS[name]
    loss = make_loss(cfg, reduction=reduction)
    value, backward = loss.forward(y_true, y_pred, sample_weight=w)
    ref_value, ref_grad = oracle(cfg, y_true, y_pred, w, reduction)
    torch.testing.assert_close(value, ref_value)
    torch.testing.assert_close(backward(), ref_grad)
    error = check_gradients(loss, y_pred, y_true=y_true, sample_weight=w)["input"]
    # ||analytic - numeric|| = error * (||analytic|| + ||numeric||). Central differences resolve
    # about 1e-9 absolutely (roundoff of a loss of logits ~ 10, over 2 eps); very confident logits
    # have gradients near that floor (dL/dz ~ 1e-7), where the autograd comparison above decides.
    assert error < 1e-6 or error * 2 * float(ref_grad.norm()) < 1e-9


@pytest.mark.parametrize("name", sorted(CONFIGS))
@PROPERTY_SETTINGS
@given(data=st.data(), factor=st.floats(0.1, 5.0))
def test_reductions_relate_as_keras_rule_says(name, data, factor):
    y_true, y_pred, shape = data.draw(problems(name))
    cfg = CONFIGS[name]
    per_sample = ref_per_sample(cfg, y_true, y_pred)
    count = per_sample.numel()
    mean_loss, sum_loss = make_loss(cfg), make_loss(cfg, reduction="sum")
    vector = make_loss(cfg, reduction=None)(y_true, y_pred)
    torch.testing.assert_close(vector, per_sample)
    torch.testing.assert_close(sum_loss(y_true, y_pred), vector.sum())
    torch.testing.assert_close(mean_loss(y_true, y_pred), vector.sum() / count)
    # weights of ones change nothing; a constant weight scales value and gradient
    value, backward = mean_loss.forward(y_true, y_pred)
    ones_value, ones_backward = mean_loss.forward(y_true, y_pred, torch.ones(shape[0], dtype=F64))
    scaled_value, scaled_backward = mean_loss.forward(
        y_true, y_pred, torch.full((shape[0],), factor, dtype=F64))
    torch.testing.assert_close(ones_value, value)
    torch.testing.assert_close(ones_backward(), backward())
    torch.testing.assert_close(scaled_value, value * factor)
    torch.testing.assert_close(scaled_backward(), backward() * factor)
    # zero weight on a sample: no gradient flows into it, and the count still includes it
    w = torch.ones(shape[0], dtype=F64)
    w[0] = 0.0
    zero_value, zero_backward = mean_loss.forward(y_true, y_pred, w)
    assert torch.all(zero_backward()[0] == 0)
    torch.testing.assert_close(zero_value, vector[1:].sum() / count)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_value_does_not_depend_on_sample_order(name, data):
    y_true, y_pred, shape = data.draw(problems(name))
    perm = torch.randperm(shape[0], generator=torch.Generator().manual_seed(shape[0]))
    loss = make_loss(CONFIGS[name])
    value, backward = loss.forward(y_true, y_pred)
    value_p, backward_p = loss.forward(y_true[perm], y_pred[perm])
    torch.testing.assert_close(value_p, value)
    torch.testing.assert_close(backward_p(), backward()[perm])
