"""Streaming metrics against hand computations (NumPy / plain loops), over several batches."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasette import config
from kerasette import metrics as M

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _batches(n, sizes):
    """Split range(n) into consecutive slices of the given sizes (last one takes the rest)."""
    out, start = [], 0
    for s in sizes:
        if start >= n:
            break
        out.append(slice(start, min(n, start + s)))
        start += s
    if start < n:
        out.append(slice(start, n))
    return out


def _stream(metric, y_true, y_pred, w=None, sizes=(3, 5, 1, 7), device="cpu"):
    """Feed (y_true, y_pred[, w]) to `metric` batch by batch; return result() as a float."""
    metric.reset_state()
    for sl in _batches(len(y_pred), sizes):
        kw = {} if w is None else {"sample_weight": torch.as_tensor(w[sl], device=device)}
        metric.update_state(torch.as_tensor(y_true[sl], device=device),
                            torch.as_tensor(y_pred[sl], device=device), **kw)
    r = metric.result()
    assert r.dim() == 0 and r.device.type == torch.device(device).type
    return r.item()


def _wmean(values, w=None):
    values = np.asarray(values, dtype=np.float64)
    if w is None:
        return values.mean()
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    return (values * w).sum() / w.sum()


# ---- hand references, written as loops over samples ----------------------------------------

def ref_binary_acc(y, p, t=0.5):
    return [float(np.mean([(float(pj > t) == yj) for yj, pj in zip(np.ravel(yi), np.ravel(pi))]))
            for yi, pi in zip(y, p)]


def ref_cat_acc(y, p):
    return [float(np.argmax(yi) == np.argmax(pi)) for yi, pi in zip(y, p)]


def ref_sparse_acc(y, p):
    return [float(int(np.ravel(yi)[0]) == np.argmax(pi)) for yi, pi in zip(y, p)]


def ref_mse(y, p):
    return [float(np.mean((np.ravel(yi) - np.ravel(pi)) ** 2)) for yi, pi in zip(y, p)]


def ref_mae(y, p):
    return [float(np.mean(np.abs(np.ravel(yi) - np.ravel(pi)))) for yi, pi in zip(y, p)]


def ref_confusion(y, p, w=None, t=0.5):
    tp = fp = fn = 0.0
    w = np.ones(len(y)) if w is None else w
    for yi, pi, wi in zip(y, p, w):
        for yj, pj in zip(np.ravel(yi), np.ravel(pi)):
            pos, pred = yj != 0, pj > t
            tp += wi * (pos and pred)
            fp += wi * (pred and not pos)
            fn += wi * (pos and not pred)
    return tp, fp, fn


def exact_roc_auc(y, p):
    """Mann-Whitney: (sum of positive ranks - P (P + 1) / 2) / (P N), continuous scores."""
    y, p = np.ravel(y).astype(bool), np.ravel(p)
    ranks = np.empty(len(p))
    ranks[np.argsort(p)] = np.arange(1, len(p) + 1)
    n_pos, n_neg = y.sum(), (~y).sum()
    return (ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def keras_auc_by_loops(y, p, w, num_thresholds, curve, method):
    """Keras's AUC definition evaluated threshold by threshold (O(N T)), as the oracle for the
    histogram implementation."""
    thr = [-1e-7] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1 + 1e-7]
    y, p = np.ravel(y).astype(bool), np.clip(np.ravel(p), 0, 1)
    w = np.ones(len(y)) if w is None else np.ravel(w)
    tp = np.array([(w * (y & (p > t))).sum() for t in thr])
    fp = np.array([(w * (~y & (p > t))).sum() for t in thr])
    fn = np.array([(w * (y & (p <= t))).sum() for t in thr])
    tn = np.array([(w * (~y & (p <= t))).sum() for t in thr])

    def div(a, b):
        return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)

    if curve == "PR" and method == "interpolation":
        total = 0.0
        for k in range(num_thresholds - 1):
            pa, pb = tp[k] + fp[k], tp[k + 1] + fp[k + 1]
            dtp = tp[k] - tp[k + 1]
            slope = dtp / (pa - pb) if pa - pb > 0 else 0.0
            intercept = tp[k + 1] - slope * pb
            log_term = np.log(pa / pb) if pa > 0 and pb > 0 else 0.0
            total += slope * (dtp + intercept * log_term) / (tp[k + 1] + fn[k + 1])
        return total
    rec = div(tp, tp + fn)
    x, yy = (div(fp, fp + tn), rec) if curve == "ROC" else (rec, div(tp, tp + fp))
    area = 0.0
    for k in range(num_thresholds - 1):
        h = {"interpolation": (yy[k] + yy[k + 1]) / 2, "minoring": min(yy[k], yy[k + 1]),
             "majoring": max(yy[k], yy[k + 1])}[method]
        area += (x[k] - x[k + 1]) * h
    return area


# ---- data -------------------------------------------------------------------------------------

def binary_data(rng, n=23, dtype=np.float32):
    y = rng.integers(0, 2, size=(n, 1)).astype(dtype)
    p = rng.random((n, 1)).astype(dtype)
    return y, p


def categorical_data(rng, n=23, c=4, dtype=np.float32):
    labels = rng.integers(0, c, size=n)
    y = np.eye(c, dtype=dtype)[labels]
    p = rng.random((n, c)).astype(dtype)
    return labels, y, p


# ---- each metric vs its hand computation, streamed, with and without weights ------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("weighted", [False, True])
def test_each_metric_matches_hand_computation(device, weighted):
    rng = np.random.default_rng(0)
    w = rng.random(23).astype(np.float32) if weighted else None
    y, p = binary_data(rng)
    assert _stream(M.BinaryAccuracy(), y, p, w, device=device) == pytest.approx(
        _wmean(ref_binary_acc(y, p), w), abs=1e-6)
    assert _stream(M.BinaryAccuracy(threshold=0.3), y, p, w, device=device) == pytest.approx(
        _wmean(ref_binary_acc(y, p, 0.3), w), abs=1e-6)
    labels, onehot, q = categorical_data(rng)
    assert _stream(M.CategoricalAccuracy(), onehot, q, w, device=device) == pytest.approx(
        _wmean(ref_cat_acc(onehot, q), w), abs=1e-6)
    assert _stream(M.SparseCategoricalAccuracy(), labels, q, w, device=device) == pytest.approx(
        _wmean(ref_sparse_acc(labels, q), w), abs=1e-6)
    yr, pr = (rng.normal(size=(23, 3)).astype(np.float32) for _ in range(2))
    assert _stream(M.MeanSquaredError(), yr, pr, w, device=device) == pytest.approx(
        _wmean(ref_mse(yr, pr), w), rel=1e-5)
    assert _stream(M.MeanAbsoluteError(), yr, pr, w, device=device) == pytest.approx(
        _wmean(ref_mae(yr, pr), w), rel=1e-5)
    tp, fp, fn = ref_confusion(y, p, w)
    assert _stream(M.Precision(), y, p, w, device=device) == pytest.approx(tp / (tp + fp), rel=1e-5)
    assert _stream(M.Recall(), y, p, w, device=device) == pytest.approx(tp / (tp + fn), rel=1e-5)
    tp, fp, fn = ref_confusion(y, p, w, t=0.7)
    assert _stream(M.Precision(thresholds=0.7), y, p, w, device=device) == pytest.approx(
        tp / (tp + fp), rel=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_mean_of_values_weighted_by_batch_size(device):
    """The model's loss tracker: batch losses averaged weighted by batch size."""
    m = M.Mean()
    losses, sizes = [0.5, 2.0, 1.25], [32, 32, 7]
    for loss, n in zip(losses, sizes):
        m.update_state(torch.tensor(loss, device=device), sample_weight=n)
    assert m.result().item() == pytest.approx(np.dot(losses, sizes) / sum(sizes))
    m.reset_state()
    m.update_state(torch.tensor([1.0, 2.0, 6.0], device=device))
    m.update_state(torch.tensor([[3.0, 5.0]], device=device))  # one sample, mean 4
    assert m.result().item() == pytest.approx((1 + 2 + 6 + 4) / 4)
    m.update_state(torch.tensor([10.0, 20.0], device=device), sample_weight=torch.tensor([1., 3.]))
    assert m.result().item() == pytest.approx((13 + 10 + 60) / (4 + 4))
    m.update_state(torch.tensor([1.0, 2.0, 3.0], device=device), sample_weight=torch.tensor(2.0))
    assert m.result().item() == pytest.approx((83 + 12) / (8 + 6))  # 0-d weight: every sample


def test_keras_weighted_metric_facts():
    """DESIGN.md: errors 1, 1, 3, 3 with weights 1, 1, 0, 0 -> mae 2.0, weighted mse 1.0."""
    y_true, y_pred = torch.zeros(4, 1), torch.tensor([[1.0], [1.0], [3.0], [3.0]])
    w = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert M.MeanAbsoluteError()(y_true, y_pred).item() == pytest.approx(2.0)
    assert M.MeanSquaredError()(y_true, y_pred, sample_weight=w).item() == pytest.approx(1.0)


def test_batch_size_one_and_rank_one_inputs():
    rng = np.random.default_rng(1)
    y, p = binary_data(rng, n=9)
    for metric, ref in [(M.BinaryAccuracy(), ref_binary_acc), (M.MeanSquaredError(), ref_mse),
                        (M.MeanAbsoluteError(), ref_mae)]:
        assert _stream(metric, y, p, sizes=[1] * 9) == pytest.approx(np.mean(ref(y, p)), rel=1e-6)
        # rank-1 (N,) inputs are one value per sample, not one value per batch
        assert _stream(metric, y[:, 0], p[:, 0], sizes=[4, 5]) == pytest.approx(
            np.mean(ref(y, p)), rel=1e-6)
        assert _stream(metric, y[:, 0], p, sizes=[2, 7]) == pytest.approx(np.mean(ref(y, p)),
                                                                          rel=1e-6)
        assert _stream(metric, y, p[:, 0], sizes=[2, 7]) == pytest.approx(np.mean(ref(y, p)),
                                                                          rel=1e-6)
    labels, _, q = categorical_data(rng, n=6)
    assert _stream(M.SparseCategoricalAccuracy(), labels[:, None], q, sizes=[1] * 6) == \
        pytest.approx(np.mean(ref_sparse_acc(labels, q)))


def test_reset_state_forgets_everything():
    y1, p1 = torch.tensor([[1.0], [0.0]]), torch.tensor([[0.9], [0.8]])
    y2, p2 = torch.tensor([[1.0]]), torch.tensor([[0.9]])
    # metric, result on (y1, p1), result on (y2, p2) alone
    cases = [(M.BinaryAccuracy(), 0.5, 1.0), (M.MeanSquaredError(), (0.01 + 0.64) / 2, 0.01),
             (M.Precision(), 0.5, 1.0), (M.Recall(), 1.0, 1.0), (M.AUC(), 1.0, 0.0)]
    for metric, first, second in cases:
        metric.update_state(y1, p1)
        assert metric.result().item() == pytest.approx(first, abs=1e-6)
        metric.reset_state()
        assert metric.result().item() == 0.0
        metric.update_state(y2, p2)
        assert metric.result().item() == pytest.approx(second, abs=1e-6)
    m = M.Mean()
    m.update_state(torch.tensor([5.0, 7.0]), sample_weight=torch.tensor([1.0, 3.0]))
    m.reset_state()
    assert m.result().item() == 0.0
    m.update_state(torch.tensor([2.0]))
    assert m.result().item() == 2.0


def test_result_is_a_fresh_tensor_not_the_running_state():
    m = M.BinaryAccuracy()
    m.update_state(torch.ones(2, 1), torch.ones(2, 1))
    r = m.result()
    m.update_state(torch.ones(2, 1), torch.zeros(2, 1))
    assert r.item() == 1.0 and m.result().item() == 0.5
    p = M.Precision()
    p.update_state(torch.ones(2), torch.ones(2))
    r = p.result()
    p.update_state(torch.zeros(2), torch.ones(2))
    assert r.item() == 1.0 and p.result().item() == 0.5


def test_result_before_any_update_is_zero_scalar():
    for metric in [M.BinaryAccuracy(), M.Mean(), M.Precision(), M.AUC()]:
        r = metric.result()
        assert r.dim() == 0 and r.item() == 0.0


# ---- dtypes ----------------------------------------------------------------------------------

def test_dtypes_int_and_float_labels_float64_and_half_inputs():
    y_int = torch.tensor([[1], [0], [1], [1]])
    p = torch.tensor([[0.8], [0.3], [0.2], [0.6]])
    for y in (y_int, y_int.float(), y_int.double(), y_int.bool()):
        assert M.BinaryAccuracy()(y, p).item() == pytest.approx(0.75)
        assert M.Precision()(y, p).item() == pytest.approx(1.0)
        assert M.Recall()(y, p).item() == pytest.approx(2 / 3)
    for metric in [M.BinaryAccuracy(), M.MeanSquaredError(), M.Precision(), M.AUC()]:
        assert metric(y_int, p.double()).dtype == torch.float64
        metric.reset_state()
        assert metric(y_int, p.half()).dtype == torch.float32  # half inputs accumulate in float32
        assert type(metric)(dtype="float64")(y_int, p).dtype == torch.float64
    # integer class labels of any int dtype, or integer-valued floats
    q = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    for labels in (torch.tensor([1, 0, 0]), torch.tensor([1, 0, 0], dtype=torch.int32),
                   torch.tensor([[1.0], [0.0], [0.0]])):
        assert M.SparseCategoricalAccuracy()(labels, q).item() == pytest.approx(2 / 3)
    # one-hot labels as ints or bools
    onehot = torch.tensor([[0, 1], [1, 0], [1, 0]])
    assert M.CategoricalAccuracy()(onehot, q).item() == pytest.approx(2 / 3)
    assert M.CategoricalAccuracy()(onehot.bool(), q).item() == pytest.approx(2 / 3)
    # integer predictions for regression metrics use floatx
    assert M.MeanAbsoluteError()(torch.tensor([[1], [3]]), torch.tensor([[2], [2]])).dtype == \
        config.floatx_dtype()
    # plain Python lists / NumPy arrays work too
    assert M.BinaryAccuracy()([1, 0], [0.9, 0.1]).item() == 1.0
    assert M.MeanSquaredError()(np.array([[1.0]]), np.array([[3.0]])).item() == 4.0


def test_float64_accumulation_is_exact_enough():
    rng = np.random.default_rng(2)
    y, p = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2))
    m = M.MeanSquaredError()
    assert _stream(m, y, p, sizes=[37] * 30) == pytest.approx(np.mean((y - p) ** 2), rel=1e-12)
    assert m.result().dtype == torch.float64


# ---- precision / recall edge cases --------------------------------------------------------------

def test_precision_recall_zero_not_nan_without_positives():
    p = M.Precision()
    p.update_state(torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0.1, 0.2, 0.3]))
    assert p.result().item() == 0.0
    r = M.Recall()
    r.update_state(torch.tensor([0.0, 0.0]), torch.tensor([0.9, 0.2]))
    assert r.result().item() == 0.0
    for metric in (M.Precision(), M.Recall()):  # all weights zero
        metric.update_state(torch.ones(2), torch.ones(2), sample_weight=torch.zeros(2))
        assert metric.result().item() == 0.0
    m = M.BinaryAccuracy()
    m.update_state(torch.ones(2), torch.ones(2), sample_weight=torch.zeros(2))
    assert m.result().item() == 0.0


def test_precision_recall_class_id_and_multilabel():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=(20, 3)).astype(np.float32)
    p = rng.random((20, 3)).astype(np.float32)
    tp, fp, fn = ref_confusion(y, p)  # every element is a decision
    assert _stream(M.Precision(), y, p) == pytest.approx(tp / (tp + fp), rel=1e-6)
    assert _stream(M.Recall(), y, p) == pytest.approx(tp / (tp + fn), rel=1e-6)
    tp, fp, fn = ref_confusion(y[:, 2], p[:, 2])
    assert _stream(M.Precision(class_id=2), y, p) == pytest.approx(tp / (tp + fp), rel=1e-6)
    assert _stream(M.Recall(class_id=2), y, p) == pytest.approx(tp / (tp + fn), rel=1e-6)


# ---- AUC ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed, signal", [(0, 1.2), (1, 0.4), (2, 0.0), (3, 2.5)])
def test_auc_close_to_exact_rank_auc(seed, signal):
    rng = np.random.default_rng(seed)
    n = 2000
    y = rng.integers(0, 2, size=(n, 1))
    p = 1 / (1 + np.exp(-(rng.normal(size=(n, 1)) + signal * (2 * y - 1))))
    got = _stream(M.AUC(), y.astype(np.float32), p.astype(np.float32), sizes=[128] * 16)
    exact = exact_roc_auc(y, p)
    assert got == pytest.approx(exact, abs=1e-2)
    assert exact == pytest.approx(0.5, abs=0.05) if signal == 0 else exact > 0.6


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("method", ["interpolation", "minoring", "majoring"])
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_matches_keras_definition_threshold_by_threshold(curve, method, weighted):
    rng = np.random.default_rng(4)
    n = 300
    y = rng.integers(0, 2, size=(n, 1)).astype(np.float64)
    p = np.clip(rng.random((n, 1)) * 0.8 + 0.2 * y, 0, 1)
    p[:5] = [[0.0], [1.0], [0.5], [1e-9], [0.25]]  # ends and exact thresholds
    w = rng.random(n) if weighted else None
    m = M.AUC(num_thresholds=17, curve=curve, summation_method=method)
    got = _stream(m, y, p, w, sizes=[50, 13, 1])
    assert got == pytest.approx(keras_auc_by_loops(y, p, w, 17, curve, method), abs=1e-9)


def test_auc_keras_examples_from_logits_and_one_class():
    m = M.AUC(num_thresholds=3)
    assert m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]).item() == pytest.approx(0.75)
    m.reset_state()
    assert m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1]).item() == 1.0
    logits = torch.tensor([[-2.0], [0.3], [1.5], [-0.1], [2.2]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0], [1.0]])
    assert M.AUC(from_logits=True)(y, logits).item() == pytest.approx(
        M.AUC()(y, torch.sigmoid(logits)).item())
    assert M.AUC()(torch.ones(4), torch.rand(4)).item() == 0.0  # no negatives: 0, not NaN
    assert M.AUC(curve="PR")(torch.zeros(4), torch.rand(4)).item() == 0.0


# ---- properties: streaming equals whole, any shapes --------------------------------------------

@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), c=st.integers(1, 5), extra=st.integers(0, 1),
       cuts=st.lists(st.integers(1, 15), min_size=1, max_size=5), seed=st.integers(0, 2**31),
       weighted=st.booleans())
def test_property_streaming_equals_reference(n, c, extra, cuts, seed, weighted):
    rng = np.random.default_rng(seed)
    shape = (n, 2, c) if extra else (n, c)
    w = rng.random(n) if weighted else None
    y = rng.normal(size=shape)
    p = rng.normal(size=shape)
    assert _stream(M.MeanSquaredError(), y, p, w, cuts) == pytest.approx(
        _wmean(ref_mse(y, p), w), rel=1e-9)
    assert _stream(M.MeanAbsoluteError(), y, p, w, cuts) == pytest.approx(
        _wmean(ref_mae(y, p), w), rel=1e-9)
    yb = (rng.random(shape) > 0.5).astype(np.float64)
    pb = rng.random(shape)
    assert _stream(M.BinaryAccuracy(), yb, pb, w, cuts) == pytest.approx(
        _wmean(ref_binary_acc(yb, pb), w), rel=1e-9)
    labels = rng.integers(0, c, size=shape[:-1])
    onehot = np.eye(c)[labels]
    # reference accuracies per sample: mean over the extra (time) axis of exact matches
    matches = (labels == p.argmax(-1)).astype(np.float64)
    per_sample = matches.reshape(n, -1).mean(1)
    assert _stream(M.SparseCategoricalAccuracy(), labels, p, w, cuts) == pytest.approx(
        _wmean(per_sample, w), rel=1e-9)
    assert _stream(M.CategoricalAccuracy(), onehot, p, w, cuts) == pytest.approx(
        _wmean(per_sample, w), rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), c=st.integers(1, 4), extra=st.integers(0, 2),
       cuts=st.lists(st.integers(1, 12), min_size=1, max_size=4), seed=st.integers(0, 2**31),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fast_path_matches_readable_twin(n, c, extra, cuts, seed, dtype):
    """Unweighted class updates (sum of elementwise values, alpha = 1/k) equal the running mean of
    the public per-sample functions (MeanMetricWrapper), batch by batch."""
    rng = np.random.default_rng(seed)
    shape = (n,) + (3,) * extra + (c,)
    y, p = rng.random(shape).astype(dtype), rng.random(shape).astype(dtype)
    yb = (y > 0.5).astype(dtype)
    labels = rng.integers(0, c, size=shape[:-1])
    cases = [(M.BinaryAccuracy(threshold=0.4), M.binary_accuracy, {"threshold": 0.4}, yb),
             (M.MeanSquaredError(), M.mean_squared_error, {}, y),
             (M.MeanAbsoluteError(), M.mean_absolute_error, {}, y),
             (M.CategoricalAccuracy(), M.categorical_accuracy, {}, np.eye(c)[labels]),
             (M.SparseCategoricalAccuracy(), M.sparse_categorical_accuracy, {}, labels)]
    for fast, fn, kwargs, labels_ in cases:
        twin = M.MeanMetricWrapper(fn, **kwargs)
        for sl in _batches(n, cuts):
            yt, yp = torch.as_tensor(labels_[sl]), torch.as_tensor(p[sl])
            fast.update_state(yt, yp)
            twin.update_state(yt, yp)
            assert fast.result().dtype == twin.result().dtype == torch.as_tensor(p).dtype
            assert fast.result().item() == pytest.approx(twin.result().item(), rel=1e-5)


def test_mean_fast_path_matches_general_path():
    values = [torch.tensor(v) for v in (0.25, 1.5, 3.0)]
    fast, general = M.Mean(), M.Mean()
    for v, n in zip(values, (32, 32, 5)):
        fast.update_state(v, sample_weight=n)          # 0-d value, number weight: one add_
        general.update_state(v.reshape(1), sample_weight=torch.tensor([float(n)]))
    assert fast.result().item() == pytest.approx(general.result().item())
    assert fast.result().item() == pytest.approx((0.25 * 32 + 1.5 * 32 + 3.0 * 5) / 69)


# ---- resolution ---------------------------------------------------------------------------------

@pytest.mark.parametrize("y_shape, p_shape, cls", [
    ((8, 1), (8, 1), M.BinaryAccuracy),
    ((8,), (8, 1), M.BinaryAccuracy),
    ((8,), (8,), M.BinaryAccuracy),
    ((8,), (8, 3), M.SparseCategoricalAccuracy),
    ((8, 1), (8, 3), M.SparseCategoricalAccuracy),
    ((8, 3), (8, 3), M.CategoricalAccuracy),
])
def test_accuracy_resolves_from_shapes_and_keeps_name(y_shape, p_shape, cls):
    for ident in ("accuracy", "acc", "Accuracy"):
        m = M.get(ident, torch.zeros(y_shape), torch.zeros(p_shape))
        assert type(m) is cls and m.name == ident
        assert type(M.get(ident, y_shape, torch.Size(p_shape))) is cls  # shapes work too


def test_accuracy_without_shapes_is_a_clear_error():
    with pytest.raises(ValueError, match="y_true and y_pred"):
        M.get("accuracy")


@pytest.mark.parametrize("ident, cls", [
    ("mse", M.MeanSquaredError), ("mean_squared_error", M.MeanSquaredError),
    ("mae", M.MeanAbsoluteError), ("mean_absolute_error", M.MeanAbsoluteError),
    ("binary_accuracy", M.BinaryAccuracy), ("categorical_accuracy", M.CategoricalAccuracy),
    ("sparse_categorical_accuracy", M.SparseCategoricalAccuracy), ("precision", M.Precision),
    ("recall", M.Recall), ("auc", M.AUC), ("AUC", M.AUC), ("Precision", M.Precision),
])
def test_string_ids_resolve_with_names_preserved(ident, cls):
    m = M.get(ident)
    assert type(m) is cls and m.name == ident


def test_get_other_identifiers():
    m = M.Recall(name="r")
    assert M.get(m) is m
    assert M.get(None) is None
    assert type(M.get(M.AUC)) is M.AUC

    def my_error(y_true, y_pred):
        return (y_true - y_pred).abs().max(-1).values

    wrapped = M.get(my_error)
    assert wrapped.name == "my_error"
    assert wrapped(torch.tensor([[1.0, 5.0], [0.0, 0.0]]), torch.zeros(2, 2)).item() == 2.5
    d = M.get({"class_name": "BinaryAccuracy", "config": {"name": "ba", "threshold": 0.1}})
    assert d.name == "ba" and d([[1.0]], [[0.2]]).item() == 1.0


def test_bad_identifiers_raise_with_valid_list():
    with pytest.raises(ValueError) as e:
        M.get("accuracyy")
    for valid in ("'binary_accuracy'", "'mse'", "'auc'", "'accuracy'"):
        assert valid in str(e.value)
    assert "'accuracyy'" in str(e.value)
    for bad in (3, 1.5, [1], object()):
        with pytest.raises(TypeError, match="Invalid metric"):
            M.get(bad)
    with pytest.raises(ValueError, match="class_name"):
        M.get({"class_name": "Nope", "config": {}})


def test_serialize_deserialize_roundtrip():
    metrics = [M.BinaryAccuracy(name="acc", threshold=0.2), M.CategoricalAccuracy(),
               M.SparseCategoricalAccuracy(), M.MeanSquaredError(name="mse"),
               M.MeanAbsoluteError(dtype="float64"), M.Precision(thresholds=0.3, class_id=1),
               M.Recall(), M.AUC(num_thresholds=50, curve="PR", summation_method="minoring",
                                 from_logits=True), M.Mean(name="loss"),
               M.get("mean_squared_error")]
    for m in metrics:
        cfg = M.serialize(m)
        back = M.deserialize(cfg)
        assert type(back) is type(m) and back.get_config() == m.get_config()
        assert back.name == m.name
    wrapped = M.MeanMetricWrapper(M.binary_accuracy, name="ba", threshold=0.7)
    back = M.deserialize(M.serialize(wrapped))
    assert back.get_config() == wrapped.get_config()
    y, p = torch.tensor([[1.0], [0.0]]), torch.tensor([[0.6], [0.1]])
    assert back(y, p).item() == wrapped(y, p).item() == 0.5

    def custom(y_true, y_pred):
        return (y_true - y_pred)[:, 0]

    cfg = M.serialize(M.get(custom))
    with pytest.raises(ValueError, match="custom_objects"):
        M.deserialize(cfg)
    assert M.deserialize(cfg, custom_objects={"custom": custom}).name == "custom"


# ---- bad inputs ---------------------------------------------------------------------------------

def test_bad_inputs_raise_before_state_changes():
    m = M.BinaryAccuracy()
    m.update_state(torch.ones(4, 1), torch.ones(4, 1))
    with pytest.raises(ValueError, match="y_true"):
        m.update_state(torch.ones(4, 2), torch.ones(4, 1))
    with pytest.raises(ValueError, match="y_true"):
        m.update_state(torch.ones(3, 1), torch.ones(4, 1))
    with pytest.raises(ValueError, match="sample_weight"):
        m.update_state(torch.zeros(4, 1), torch.ones(4, 1), sample_weight=torch.ones(3))
    with pytest.raises(ValueError, match="sample_weight"):
        m.update_state(torch.zeros(4, 1), torch.ones(4, 1), sample_weight=torch.ones(4, 2))
    assert m.result().item() == 1.0
    m.update_state(torch.zeros(4, 1), torch.ones(4, 1))  # the failed updates counted nothing
    assert m.result().item() == 0.5
    s = M.SparseCategoricalAccuracy()
    with pytest.raises(ValueError, match="y_true"):
        s.update_state(torch.zeros(4, 3), torch.ones(4, 3))
    with pytest.raises(ValueError, match="y_true"):
        M.CategoricalAccuracy().update_state(torch.zeros(4), torch.ones(4, 3))
    p = M.Precision()
    p.update_state(torch.ones(2), torch.ones(2))
    with pytest.raises(ValueError, match="sample_weight"):
        p.update_state(torch.zeros(2), torch.ones(2), sample_weight=torch.ones(5))
    assert p.result().item() == 1.0


@pytest.mark.parametrize("factory, match", [
    (lambda: M.Precision(thresholds=[0.3, 0.5]), "thresholds"),
    (lambda: M.Recall(thresholds=1.5), "thresholds"),
    (lambda: M.Precision(class_id=-1), "class_id"),
    (lambda: M.AUC(num_thresholds=1), "num_thresholds"),
    (lambda: M.AUC(curve="XY"), "curve"),
    (lambda: M.AUC(summation_method="left"), "summation_method"),
    (lambda: M.BinaryAccuracy(threshold="0.5"), "threshold"),
    (lambda: M.Mean(dtype="int32"), "dtype"),
])
def test_bad_constructor_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_bad_name_and_fn_types():
    with pytest.raises(TypeError, match="name"):
        M.Mean(name=3)
    with pytest.raises(TypeError, match="fn"):
        M.MeanMetricWrapper(3)


# ---- no host sync in update_state ---------------------------------------------------------------

def test_update_state_never_reads_values_back(monkeypatch):
    """Python-level reads of a tensor's value (item, bool, float, tolist, cpu, numpy) are
    forbidden in update_state; the GPU run checks the C++ side with torch's sync debug mode."""
    rng = np.random.default_rng(5)
    y, p = binary_data(rng)
    labels, onehot, q = categorical_data(rng)
    cases = [(M.BinaryAccuracy(), y, p), (M.MeanSquaredError(), y, p), (M.Precision(), y, p),
             (M.Recall(), y, p), (M.AUC(), y, p), (M.AUC(curve="PR"), y, p),
             (M.SparseCategoricalAccuracy(), labels, q), (M.CategoricalAccuracy(), onehot, q)]
    tensors = [(torch.as_tensor(a), torch.as_tensor(b)) for _, a, b in cases]
    w = torch.as_tensor(rng.random(23).astype(np.float32))

    def forbidden(*args, **kwargs):
        raise AssertionError("update_state read a tensor value back to the host")

    for attr in ("item", "__bool__", "__float__", "__int__", "tolist", "cpu", "numpy"):
        monkeypatch.setattr(torch.Tensor, attr, forbidden)
    for (metric, _, _), (yt, yp) in zip(cases, tensors):
        metric.update_state(yt, yp)
        metric.update_state(yt, yp, sample_weight=w)
        metric.update_state(yt, yp, sample_weight=2.0)
    loss = M.Mean()
    loss.update_state(torch.tensor(0.3), sample_weight=32)
    monkeypatch.undo()
    for metric, _, _ in cases:
        assert 0.0 <= metric.result().item() <= 1.0
    assert loss.result().item() == pytest.approx(0.3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_update_state_does_not_synchronize_cuda():
    rng = np.random.default_rng(6)
    y, p = (torch.as_tensor(a, device="cuda") for a in binary_data(rng))
    labels, onehot, q = (torch.as_tensor(a, device="cuda") for a in categorical_data(rng))
    w = torch.rand(23, device="cuda")
    metrics = [(M.BinaryAccuracy(), y, p), (M.MeanSquaredError(), y, p), (M.Precision(), y, p),
               (M.AUC(), y, p), (M.SparseCategoricalAccuracy(), labels, q),
               (M.CategoricalAccuracy(), onehot, q)]
    loss, loss_value = M.Mean(), torch.tensor(0.5, device="cuda")
    for m, a, b in metrics:  # warm up: first update allocates (and AUC copies its thresholds)
        m.update_state(a, b)
    loss.update_state(loss_value, sample_weight=23)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for m, a, b in metrics:
            m.update_state(a, b)
            m.update_state(a, b, sample_weight=w)
            m.result()
        loss.update_state(loss_value, sample_weight=23)
        loss.result()
    finally:
        torch.cuda.set_sync_debug_mode(0)
