"""The Keras 3 metrics added for issue 11, each against a formula or scikit-learn on random data,
streamed over uneven batches, with sample weights where Keras uses them; their string ids,
serialization, state kept as sums in variables (two halves added = the whole), and their use in
`model.compile(metrics=[...])` + fit / evaluate."""

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from test_metrics import _batches, _stream, _wmean

import kerasette as ks
from kerasette import metrics as M

F64 = torch.float64


def _rng(seed=0):
    return np.random.default_rng(seed)


def _weights(rng, n):
    return rng.random(n) + 0.1


# ---- confusion counts ----------------------------------------------------------------------------
CASES = {M.TruePositives: (True, True), M.FalsePositives: (True, False),
         M.TrueNegatives: (False, False), M.FalseNegatives: (False, True)}


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("thresholds", [None, 0.3, [0.2, 0.5, 0.8]])
@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_counts_match_loops(cls, thresholds, weighted):
    rng = _rng(1)
    y, p = rng.integers(0, 2, size=(40, 3)).astype(float), rng.random((40, 3))
    w = _weights(rng, 40) if weighted else None
    m = cls(thresholds=thresholds)
    m.reset_state()
    for sl in _batches(40, (7, 13, 1)):
        m.update_state(y[sl], p[sl], sample_weight=None if w is None else w[sl])
    predicted, positive = CASES[cls]
    ts = [0.5] if thresholds is None else np.atleast_1d(thresholds)
    ww = np.ones(40) if w is None else w
    expected = [sum(ww[i] for i in range(40) for j in range(3)
                    if (p[i, j] > t) == predicted and (y[i, j] != 0) == positive) for t in ts]
    result = m.result()
    assert result.shape == (() if len(ts) == 1 else (len(ts),))
    np.testing.assert_allclose(np.atleast_1d(result.numpy()), expected)


def test_confusion_counts_add_up_and_match_sklearn():
    rng = _rng(2)
    y, p = rng.integers(0, 2, size=50), rng.random(50)
    counts = [cls(thresholds=0.4)(y, p).item() for cls in
              (M.TrueNegatives, M.FalsePositives, M.FalseNegatives, M.TruePositives)]
    np.testing.assert_allclose(counts, skm.confusion_matrix(y, p > 0.4).ravel())
    assert M.TruePositives().get_config()["thresholds"] is None
    assert M.TruePositives().name == "true_positives"


# ---- top-k ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_top_k_accuracies_match_sklearn(k, weighted):
    rng = _rng(3)
    labels, scores = rng.integers(0, 6, size=60), rng.random((60, 6))
    w = _weights(rng, 60) if weighted else None
    expected = skm.top_k_accuracy_score(labels, scores, k=k, labels=range(6), sample_weight=w)
    sparse = _stream(M.SparseTopKCategoricalAccuracy(k=k), labels, scores, w)
    onehot = _stream(M.TopKCategoricalAccuracy(k=k), np.eye(6)[labels], scores, w)
    assert sparse == pytest.approx(expected) and onehot == pytest.approx(expected)
    per_sample = M.sparse_top_k_categorical_accuracy(labels, scores, k=k)
    assert per_sample.shape == (60,) and per_sample.mean().item() == pytest.approx(
        skm.top_k_accuracy_score(labels, scores, k=k, labels=range(6)))


def test_top_k_ties_favour_the_label_and_large_k_counts_all():
    scores = torch.tensor([[0.5, 0.5, 0.1], [0.2, 0.3, 0.5]])
    assert M.sparse_top_k_categorical_accuracy(torch.tensor([1, 0]), scores, k=1).tolist() == \
        [1.0, 0.0]
    assert M.SparseTopKCategoricalAccuracy(k=10)(torch.tensor([2, 0]), scores).item() == 1.0
    sorted_ids = torch.tensor([[2, 0, 1], [1, 2, 0]])
    m = M.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    assert m(torch.tensor([0, 0]), sorted_ids).item() == 0.5
    assert M.TopKCategoricalAccuracy().k == 5 and M.SparseTopKCategoricalAccuracy().k == 5


# ---- F-scores ------------------------------------------------------------------------------------
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_fbeta_multilabel_matches_sklearn(average, beta, weighted):
    rng = _rng(4)
    y, p = rng.integers(0, 2, size=(80, 4)), rng.random((80, 4))
    w = _weights(rng, 80) if weighted else None
    m = M.FBetaScore(average=average, beta=beta, threshold=0.4)
    m.reset_state()
    for sl in _batches(80, (9, 30)):
        m.update_state(y[sl], p[sl], sample_weight=None if w is None else w[sl])
    expected = skm.fbeta_score(y, (p > 0.4).astype(int), beta=beta, average=average,
                               sample_weight=w, zero_division=0)
    np.testing.assert_allclose(m.result().numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
def test_f1_multiclass_argmax_matches_sklearn(average):
    rng = _rng(5)
    labels, p = rng.integers(0, 3, size=70), rng.random((70, 3))
    f1 = M.F1Score(average=average)  # threshold None: the row's argmax is the prediction
    f1.update_state(np.eye(3)[labels], p)
    expected = skm.f1_score(labels, p.argmax(1), average=average)
    assert f1.result().item() == pytest.approx(expected, rel=1e-5)
    assert "beta" not in f1.get_config() and f1.name == "f1_score"


# ---- R2 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("aggregation, multioutput", [
    ("uniform_average", "uniform_average"), ("variance_weighted_average", "variance_weighted"),
    (None, "raw_values")])
@pytest.mark.parametrize("weighted", [False, True])
def test_r2_matches_sklearn(aggregation, multioutput, weighted):
    rng = _rng(6)
    y = rng.normal(size=(50, 3)) * [1.0, 2.0, 0.5]
    p = y + rng.normal(size=(50, 3)) * 0.7
    w = _weights(rng, 50) if weighted else None
    m = M.R2Score(class_aggregation=aggregation)
    for sl in _batches(50, (8, 20)):
        m.update_state(y[sl], p[sl], sample_weight=None if w is None else w[sl])
    expected = skm.r2_score(y, p, sample_weight=w, multioutput=multioutput)
    np.testing.assert_allclose(m.result().numpy(), expected, rtol=1e-9)


def test_adjusted_r2_and_its_fallback():
    rng = _rng(7)
    y, p = rng.normal(size=(30, 1)), rng.normal(size=(30, 1))
    r2 = skm.r2_score(y, p)
    assert M.R2Score(num_regressors=4)(y, p).item() == pytest.approx(
        1 - (1 - r2) * 29 / (30 - 4 - 1))
    assert M.R2Score(num_regressors=40)(y, p).item() == pytest.approx(r2)  # too few samples
    assert M.R2Score()(y[:, 0], p[:, 0]).item() == pytest.approx(r2)  # (N,) taken as (N, 1)


# ---- means of per-sample values ------------------------------------------------------------------
def _np_cosine(y, p):
    return (y * p).sum(-1) / np.linalg.norm(y, axis=-1) / np.linalg.norm(p, axis=-1)


def _np_bce(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)


MEAN_METRICS = [
    # (metric, per-sample numpy formula, data kind)
    (M.RootMeanSquaredError, None, "regression"),
    (M.MeanAbsolutePercentageError,
     lambda y, p: 100 * (np.abs(y - p) / np.maximum(np.abs(y), 1e-7)).mean(-1), "regression"),
    (M.MeanSquaredLogarithmicError,
     lambda y, p: ((np.log1p(np.maximum(p, 1e-7)) - np.log1p(np.maximum(y, 1e-7))) ** 2).mean(-1),
     "positive"),
    (M.LogCoshError, lambda y, p: np.log(np.cosh(p - y)).mean(-1), "regression"),
    (M.CosineSimilarity, _np_cosine, "regression"),
    (M.BinaryCrossentropy, _np_bce, "binary"),
    (M.CategoricalCrossentropy,
     lambda y, p: -(y * np.log(np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1))).sum(-1), "onehot"),
    (M.KLDivergence, lambda y, p: (np.clip(y, 1e-7, 1) * np.log(
        np.clip(y, 1e-7, 1) / np.clip(p, 1e-7, 1))).sum(-1), "onehot"),
    (M.Poisson, lambda y, p: (p - y * np.log(p + 1e-7)).mean(-1), "positive"),
    (M.Hinge, lambda y, p: np.maximum(1 - (2 * y - 1) * p, 0).mean(-1), "binary"),
    (M.SquaredHinge, lambda y, p: (np.maximum(1 - (2 * y - 1) * p, 0) ** 2).mean(-1), "binary"),
    (M.CategoricalHinge, lambda y, p: np.maximum(
        ((1 - y) * p).max(-1) - (y * p).sum(-1) + 1, 0), "onehot"),
]


def _data(kind, rng, n=40, c=3):
    if kind == "regression":
        y = rng.normal(size=(n, c))
        return y, y + rng.normal(size=(n, c))
    if kind == "positive":
        return rng.random((n, c)) * 3, rng.random((n, c)) * 3 + 0.01
    if kind == "binary":
        return rng.integers(0, 2, size=(n, c)).astype(float), rng.random((n, c)) * 0.98 + 0.01
    return np.eye(c)[rng.integers(0, c, size=n)], rng.random((n, c)) + 0.01


@pytest.mark.parametrize("cls, formula, kind", MEAN_METRICS, ids=lambda x: getattr(x, "__name__",
                                                                                   str(x)))
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_metrics_match_formulas(cls, formula, kind, weighted):
    rng = _rng(8)
    y, p = _data(kind, rng)
    w = _weights(rng, 40) if weighted else None
    got = _stream(cls(), y, p, w)
    if cls is M.RootMeanSquaredError:
        expected = np.sqrt(_wmean(((y - p) ** 2).mean(-1), w))
        if w is None:
            assert got == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    else:
        expected = _wmean(formula(y, p), w)
    assert got == pytest.approx(expected, rel=1e-9)


def test_sparse_crossentropy_metric_and_sklearn_log_loss():
    rng = _rng(9)
    labels, p = rng.integers(0, 4, size=30), rng.dirichlet(np.ones(4), size=30)
    w = _weights(rng, 30)
    expected = skm.log_loss(labels, p, sample_weight=w, labels=range(4))
    assert _stream(M.SparseCategoricalCrossentropy(), labels, p, w) == pytest.approx(expected)
    assert _stream(M.CategoricalCrossentropy(), np.eye(4)[labels], p, w) == pytest.approx(expected)
    logits = np.log(p) + 3.0
    assert _stream(M.SparseCategoricalCrossentropy(from_logits=True), labels, logits, w) == \
        pytest.approx(expected)
    with pytest.raises(ValueError, match="ignore_class"):
        M.SparseCategoricalCrossentropy(ignore_class=0)


def test_sum_and_mean_wrappers():
    rng = _rng(10)
    v, w = rng.normal(size=(12, 3)), _weights(rng, 12)
    assert _stream_values(M.Sum(), v) == pytest.approx(v.sum())
    assert _stream_values(M.Sum(), v, w) == pytest.approx((v.sum(1) * w).sum())
    assert _stream_values(M.Mean(), v, w) == pytest.approx((v.mean(1) * w).sum() / w.sum())
    s = M.Sum()
    s.update_state(torch.tensor(2.0), sample_weight=3)
    assert s.result().item() == 6.0
    wrapper = M.MeanMetricWrapper(M.top_k_categorical_accuracy, k=1)
    assert wrapper(np.eye(3), np.eye(3) * 0.9).item() == 1.0


def _stream_values(metric, values, w=None):
    for sl in _batches(len(values), (5, 2)):
        metric.update_state(torch.as_tensor(values[sl]),
                            sample_weight=None if w is None else torch.as_tensor(w[sl]))
    return metric.result().item()


# ---- state: variables that are sums ---------------------------------------------------------------
def _all_new_metrics():
    return [M.TruePositives(thresholds=[0.3, 0.6]), M.FalseNegatives(), M.TrueNegatives(),
            M.FalsePositives(), M.TopKCategoricalAccuracy(k=2),
            M.SparseTopKCategoricalAccuracy(k=2), M.F1Score(average="macro", threshold=0.5),
            M.FBetaScore(average="weighted", beta=2.0), M.R2Score(num_regressors=1),
            M.RootMeanSquaredError(), M.MeanAbsolutePercentageError(),
            M.MeanSquaredLogarithmicError(), M.LogCoshError(), M.CosineSimilarity(),
            M.BinaryCrossentropy(), M.CategoricalCrossentropy(),
            M.SparseCategoricalCrossentropy(), M.KLDivergence(), M.Poisson(), M.Hinge(),
            M.SquaredHinge(), M.CategoricalHinge(), M.Precision(), M.Recall(), M.AUC(),
            M.BinaryAccuracy(), M.CategoricalAccuracy(), M.SparseCategoricalAccuracy(),
            M.MeanSquaredError(), M.MeanAbsoluteError()]


def _inputs_for(metric, rng, n):
    labels = rng.integers(0, 4, size=n)
    onehot, p = np.eye(4)[labels], rng.dirichlet(np.ones(4), size=n)
    if isinstance(metric, (M.SparseTopKCategoricalAccuracy, M.SparseCategoricalCrossentropy,
                           M.SparseCategoricalAccuracy)):
        return labels, p
    return onehot, p


def test_states_are_sums_so_two_halves_add_up_to_the_whole():
    """What a data-parallel reduction does: add every variable of the two halves' metrics."""
    rng = _rng(11)
    for whole, first, second in zip(_all_new_metrics(), _all_new_metrics(), _all_new_metrics()):
        y, p = _inputs_for(whole, rng, 30)
        w = _weights(rng, 30)
        whole.update_state(y, p, sample_weight=w)
        first.update_state(y[:11], p[:11], sample_weight=w[:11])
        second.update_state(y[11:], p[11:], sample_weight=w[11:])
        assert whole.variables and all(v.aggregation == "sum" for v in whole.variables)
        for a, b in zip(first.variables, second.variables):
            a.assign_add(b)
        torch.testing.assert_close(first.result(), whole.result(), msg=whole.name)


def test_reset_state_zeroes_every_variable_and_result():
    rng = _rng(12)
    for m in _all_new_metrics():
        y, p = _inputs_for(m, rng, 10)
        m.update_state(y, p)
        m.reset_state()
        assert all(not v.numpy().any() for v in m.variables), m.name
        assert not m.result().numpy().any()
        m.update_state(y, p)  # and it still works


def test_update_state_never_reads_values_back(monkeypatch):
    rng = _rng(13)
    cases = [(m, *(torch.as_tensor(a) for a in _inputs_for(m, rng, 12)))
             for m in _all_new_metrics()]
    for m, y, p in cases:  # first update: allocation and build
        m.update_state(y, p)
    w = torch.as_tensor(_weights(rng, 12))

    def forbidden(*args, **kwargs):
        raise AssertionError("update_state read a tensor value back to the host")

    for attr in ("item", "__bool__", "__float__", "__int__", "tolist", "cpu", "numpy"):
        monkeypatch.setattr(torch.Tensor, attr, forbidden)
    for m, y, p in cases:
        m.update_state(y, p)
        m.update_state(y, p, sample_weight=w)
        m.result()
    monkeypatch.undo()


def test_float64_data_accumulates_in_float64_and_dtype_fixes_it():
    y, p = np.eye(3), np.eye(3) * 0.8 + 0.05
    for m in (M.F1Score(average="micro"), M.R2Score(), M.TruePositives(), M.LogCoshError()):
        assert m(torch.as_tensor(y), torch.as_tensor(p)).dtype == F64
        m.reset_state()
        assert m(torch.as_tensor(y).float(), torch.as_tensor(p).float()).dtype == torch.float32
    assert M.TruePositives(dtype="float64")(y.astype(np.float32), p.astype(np.float32)).dtype == \
        F64


# ---- ids, serialization, arguments ------------------------------------------------------------------
@pytest.mark.parametrize("ident, cls", [
    ("true_positives", M.TruePositives), ("false_positives", M.FalsePositives),
    ("true_negatives", M.TrueNegatives), ("false_negatives", M.FalseNegatives),
    ("top_k_categorical_accuracy", M.TopKCategoricalAccuracy),
    ("sparse_top_k_categorical_accuracy", M.SparseTopKCategoricalAccuracy),
    ("f1_score", M.F1Score), ("fbeta_score", M.FBetaScore), ("r2_score", M.R2Score),
    ("root_mean_squared_error", M.RootMeanSquaredError),
    ("mape", M.MeanAbsolutePercentageError), ("MSLE", M.MeanSquaredLogarithmicError),
    ("logcosh", M.LogCoshError), ("log_cosh_error", M.LogCoshError),
    ("cosine_similarity", M.CosineSimilarity), ("binary_crossentropy", M.BinaryCrossentropy),
    ("bce", M.BinaryCrossentropy), ("categorical_crossentropy", M.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", M.SparseCategoricalCrossentropy),
    ("kl_divergence", M.KLDivergence), ("poisson", M.Poisson), ("hinge", M.Hinge),
    ("TruePositives", M.TruePositives), ("R2Score", M.R2Score),
])
def test_string_ids(ident, cls):
    m = M.get(ident)
    assert type(m) is cls and m.name == ident


@pytest.mark.parametrize("metric", [
    M.TruePositives(thresholds=[0.1, 0.9], name="tp"), M.FalseNegatives(thresholds=0.3),
    M.TopKCategoricalAccuracy(k=3), M.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
    M.F1Score(average="macro", threshold=0.4), M.FBetaScore(beta=0.5, average="micro"),
    M.R2Score(class_aggregation=None, num_regressors=2), M.RootMeanSquaredError(),
    M.CosineSimilarity(axis=1), M.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    M.CategoricalCrossentropy(label_smoothing=0.2), M.SparseCategoricalCrossentropy(from_logits=True),
    M.LogCoshError(dtype="float64"), M.Sum(name="s"), M.Hinge(),
])
def test_serialize_round_trip(metric):
    back = M.deserialize(M.serialize(metric))
    assert type(back) is type(metric) and back.get_config() == metric.get_config()


@pytest.mark.parametrize("factory, match", [
    (lambda: M.TruePositives(thresholds=1.5), "thresholds"),
    (lambda: M.TruePositives(thresholds=[]), "thresholds"),
    (lambda: M.TopKCategoricalAccuracy(k=0), "k"),
    (lambda: M.F1Score(average="samples"), "average"),
    (lambda: M.FBetaScore(beta=0.0), "beta"),
    (lambda: M.F1Score(threshold=0.0), "threshold"),
    (lambda: M.R2Score(class_aggregation="mean"), "class_aggregation"),
    (lambda: M.R2Score(num_regressors=-1), "num_regressors"),
])
def test_bad_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_bad_shapes_raise_before_state_changes():
    f1 = M.F1Score(average="macro")
    f1.update_state(np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="2-D"):
        f1.update_state(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="built for 3 classes"):
        f1.update_state(np.eye(4), np.eye(4))
    assert f1.result().item() == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="y_true"):
        M.SparseTopKCategoricalAccuracy()(np.ones((4, 3)), np.ones((4, 3)))


# ---- inside compile / fit / evaluate ------------------------------------------------------------
def _model(units, activation):
    ks.utils.set_random_seed(0)
    return ks.Sequential([ks.Input((4,)), ks.layers.Dense(8, activation="tanh"),
                          ks.layers.Dense(units, activation=activation)])


def _check_fit_and_evaluate(model, x, y, metrics, reference):
    model.compile(optimizer="adam", loss=model.loss_id, metrics=metrics)
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    names = [m if isinstance(m, str) else m.name for m in metrics]
    for name in names:
        assert len(history.history[name]) == 2 and len(history.history["val_" + name]) == 2
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    for name, fn in zip(names, reference):
        assert logs[name] == pytest.approx(fn(pred), rel=1e-5, abs=1e-6), name


def test_binary_metrics_in_fit_and_evaluate():
    rng = _rng(14)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, :1] + x[:, 1:2] > 0).astype(np.float32)
    model = _model(1, "sigmoid")
    model.loss_id = "binary_crossentropy"
    metrics = ["true_positives", M.FalseNegatives(thresholds=0.3), "f1_score",
               M.FBetaScore(beta=2.0, threshold=0.5), "bce"]
    reference = [lambda p: ((p > 0.5) & (y == 1)).sum(),
                 lambda p: ((p <= 0.3) & (y == 1)).sum(),
                 lambda p: skm.f1_score(y, p >= p.max(-1, keepdims=True)),  # all positive
                 lambda p: skm.fbeta_score(y, p > 0.5, beta=2.0),
                 lambda p: skm.log_loss(y, p, labels=[0, 1])]
    _check_fit_and_evaluate(model, x, y, metrics, reference)


def test_categorical_and_regression_metrics_in_fit_and_evaluate():
    rng = _rng(15)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    model = _model(3, "softmax")
    model.loss_id = "sparse_categorical_crossentropy"
    _check_fit_and_evaluate(
        model, x, labels,
        ["sparse_top_k_categorical_accuracy", M.SparseTopKCategoricalAccuracy(k=1, name="top1"),
         M.SparseCategoricalCrossentropy()],
        [lambda p: 1.0, lambda p: (p.argmax(1) == labels).mean(),
         lambda p: skm.log_loss(labels, p, labels=range(3))])
    y = np.stack([x[:, 0] * 2 + x[:, 1], x[:, 2] - x[:, 3]], 1)
    model = _model(2, None)
    model.loss_id = "mse"
    _check_fit_and_evaluate(
        model, x, y, ["r2_score", "root_mean_squared_error", M.CosineSimilarity(),
                      "logcosh"],
        [lambda p: skm.r2_score(y, p), lambda p: np.sqrt(skm.mean_squared_error(y, p)),
         lambda p: _np_cosine(y, p).mean(), lambda p: np.log(np.cosh(p - y)).mean()])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_state_moves_to_the_gpu_and_updates_do_not_synchronize():
    rng = _rng(16)
    cases = [(m, *(torch.as_tensor(a, device="cuda") for a in _inputs_for(m, rng, 12)))
             for m in _all_new_metrics()]
    w = torch.rand(12, device="cuda", dtype=F64)
    for m, y, p in cases:  # warm up: the first update moves (and builds) the state
        m.update_state(y, p)
        assert all(v.device.type == "cuda" for v in m.variables), m.name
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for m, y, p in cases:
            m.update_state(y, p)
            m.update_state(y, p, sample_weight=w)
            m.result()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    for m, _, _ in cases:
        m.reset_state()
        assert all(v.device.type == "cuda" for v in m.variables), m.name
