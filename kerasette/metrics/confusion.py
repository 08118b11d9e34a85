"""Metrics from confusion counts: TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
Precision, Recall and AUC (Keras 3.16 `keras/src/metrics/confusion_metrics.py`).

Predictions are classified positive when y_pred > threshold; labels are positive when nonzero.
Every element of y_pred counts as one binary decision (multi-label outputs are flattened, as in
Keras with `multi_label=False`); a per-sample weight weights all of that sample's elements.
Counts are (weighted) sums kept in one variable `counts` per metric, on the data's device.
"""

import torch

from .base import Metric, accumulator_dtype, align, div_no_nan, is_number, sample_weights, to_tensor


def _check_threshold(value, what: str) -> float:
    if not is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"Invalid {what}: expected one float in [0, 1] (this metric returns a "
                         f"single value), received {value!r}")
    return float(value)


class _CountingMetric(Metric):
    """Shared plumbing: one 1-d variable `counts` of `_size()` (weighted) counts, a sum."""

    def __init__(self, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.counts = self.add_variable((self._size(),), "zeros", name="counts")

    def _size(self) -> int:
        raise NotImplementedError

    def _inputs(self, y_true, y_pred, sample_weight):
        """-> (labels bool, predictions float, elementwise weights or None), all the same shape,
        and the counts tensor on their device."""
        y_pred = to_tensor(y_pred)
        y_true = to_tensor(y_true, y_pred.device)
        y_true, y_pred = self._select(*align(y_true, y_pred))
        w = None
        if sample_weight is not None:
            dtype = accumulator_dtype(y_pred, self._forced_dtype)
            n = y_pred.shape[0] if y_pred.dim() > 0 else 1
            if is_number(sample_weight):
                w = torch.full((), float(sample_weight), dtype=dtype, device=y_pred.device)
            else:
                w = sample_weights(sample_weight, n, y_pred.device, dtype)
            if w.dim() == 1 and y_pred.dim() > 1:  # one weight per sample -> per element
                w = w.reshape(-1, *([1] * (y_pred.dim() - 1)))
            w = w.expand(y_pred.shape)
        dtype = self._prepare(y_pred)
        if w is not None and w.dtype != dtype:
            w = w.to(dtype)
        return y_true != 0, y_pred.to(dtype), w, self.counts.value

    def _select(self, y_true, y_pred):
        return y_true, y_pred


def _parse_thresholds(value) -> list[float]:
    """Keras's `thresholds`: None (0.5), one float, or a list of floats, each in [0, 1]."""
    values = [0.5] if value is None else (list(value) if isinstance(value, (list, tuple))
                                          else [value])
    if not values or not all(is_number(v) and 0.0 <= float(v) <= 1.0 for v in values):
        raise ValueError(f"Invalid thresholds: expected None, a float in [0, 1] or a list of "
                         f"them, received {value!r}")
    return [float(v) for v in values]


class _ConfusionCount(_CountingMetric):
    """The (weighted) number of one confusion-matrix case at each threshold (Keras 3.16
    `_ConfusionMatrixConditionCount`): an element is predicted positive when y_pred > t and is a
    positive label when y_true != 0. State (a sum): `counts`, one entry per threshold. result() is
    a 0-d tensor for one threshold, else a vector of one count per threshold."""

    _predicted = None  # True / False: which prediction the case counts
    _positive = None   # True / False: which label the case counts

    def __init__(self, thresholds=None, name=None, dtype=None):
        self._threshold_list = _parse_thresholds(thresholds)
        self.thresholds = thresholds if thresholds is None or is_number(thresholds) \
            else list(self._threshold_list)
        self._thresholds_cache = None
        super().__init__(name=name, dtype=dtype)

    def _size(self) -> int:
        return len(self._threshold_list)

    def _device_thresholds(self, like: torch.Tensor) -> torch.Tensor:
        cached = self._thresholds_cache
        if cached is None or cached.device != like.device or cached.dtype != like.dtype:
            cached = torch.tensor(self._threshold_list, dtype=torch.float64).to(like.dtype)
            self._thresholds_cache = cached = cached.to(like.device).reshape(-1, 1)
        return cached

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        positive, y_pred, w, counts = self._inputs(y_true, y_pred, sample_weight)
        predicted = y_pred.reshape(1, -1) > self._device_thresholds(y_pred)   # (T, M)
        if not self._predicted:
            predicted = ~predicted
        label = positive.reshape(1, -1) if self._positive else ~positive.reshape(1, -1)
        cases = (predicted & label).to(counts.dtype)
        counts.add_(cases.sum(1) if w is None else cases @ w.reshape(-1))

    def result(self) -> torch.Tensor:
        counts = self.counts.value
        return counts[0].clone() if counts.numel() == 1 else counts.clone()

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.thresholds}


class TruePositives(_ConfusionCount):
    """Weighted count of positive labels predicted positive (y_true != 0 and y_pred > t)."""

    _predicted, _positive = True, True


class FalsePositives(_ConfusionCount):
    """Weighted count of negative labels predicted positive (y_true == 0 and y_pred > t)."""

    _predicted, _positive = True, False


class TrueNegatives(_ConfusionCount):
    """Weighted count of negative labels predicted negative (y_true == 0 and y_pred <= t)."""

    _predicted, _positive = False, False


class FalseNegatives(_ConfusionCount):
    """Weighted count of positive labels predicted negative (y_true != 0 and y_pred <= t)."""

    _predicted, _positive = False, True


class _PrecisionRecall(_CountingMetric):
    """Accumulates [tp, fp, fn] at one threshold."""

    def __init__(self, thresholds=0.5, class_id: int | None = None, name=None, dtype=None):
        self.thresholds = _check_threshold(thresholds, "thresholds")
        if class_id is not None and (not isinstance(class_id, int) or class_id < 0):
            raise ValueError(f"Invalid class_id: expected None or an int >= 0, "
                             f"received {class_id!r}")
        self.class_id = class_id
        super().__init__(name=name, dtype=dtype)

    def _size(self) -> int:
        return 3

    def _select(self, y_true, y_pred):
        if self.class_id is None:
            return y_true, y_pred
        if y_pred.dim() == 0 or self.class_id >= y_pred.shape[-1]:
            raise ValueError(f"Invalid class_id: {self.class_id} is not a class of y_pred with "
                             f"shape {tuple(y_pred.shape)}")
        return y_true[..., self.class_id], y_pred[..., self.class_id]

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        positive, y_pred, w, acc = self._inputs(y_true, y_pred, sample_weight)
        predicted = y_pred > self.thresholds
        # rows: true positives, false positives, false negatives; one reduction for all three
        cases = torch.stack((predicted & positive, predicted & ~positive, ~predicted & positive))
        cases = cases.reshape(3, -1).to(acc.dtype)
        acc.add_(cases.sum(1) if w is None else cases @ w.reshape(-1))

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.thresholds, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """precision = tp / (tp + fp): the fraction of positive predictions that are right; 0 (not NaN)
    when nothing was predicted positive, as in Keras. `class_id` picks one column of y_pred."""

    def __init__(self, thresholds=0.5, class_id=None, name: str = "precision", dtype=None):
        super().__init__(thresholds, class_id, name, dtype)

    def result(self) -> torch.Tensor:
        acc = self.counts.value
        return div_no_nan(acc[0], acc[0] + acc[1])


class Recall(_PrecisionRecall):
    """recall = tp / (tp + fn): the fraction of positive labels predicted positive; 0 (not NaN) when
    there were no positive labels, as in Keras. `class_id` picks one column of y_pred."""

    def __init__(self, thresholds=0.5, class_id=None, name: str = "recall", dtype=None):
        super().__init__(thresholds, class_id, name, dtype)

    def result(self) -> torch.Tensor:
        acc = self.counts.value
        return div_no_nan(acc[0], acc[0] + acc[2])


class AUC(_CountingMetric):
    """Area under the ROC (or precision-recall) curve, approximated at fixed thresholds as Keras.

    Thresholds: t_0 = -eps, t_k = k / (T - 1) for k = 1..T-2, t_{T-1} = 1 + eps (eps = 1e-7), so a
    prediction of exactly 0 is positive at t_0 and one of exactly 1 negative at t_{T-1}.
    Predictions are clipped to [0, 1] (after a sigmoid when `from_logits=True`).

    Update, O(N log T): each prediction p falls in bucket b = #{k : t_k < p} (a `searchsorted`); the
    state is a (weighted) histogram of buckets for negative and for positive labels. Then
    tp_k = sum_{b > k} pos_b, fp_k = sum_{b > k} neg_b, fn_k = P - tp_k, tn_k = N - fp_k.

    Result with `summation_method="interpolation"` (trapezoids between consecutive thresholds):
      ROC: TPR_k = tp_k / P, FPR_k = fp_k / N,
           AUC = sum_k (FPR_k - FPR_{k+1}) (TPR_k + TPR_{k+1}) / 2
      PR:  precision interpolated as Davis & Goadrich (2006): over [k, k+1], tp and the predicted
           positives p = tp + fp vary linearly, slope s = (tp_k - tp_{k+1}) / (p_k - p_{k+1}),
           intercept c = tp_{k+1} - s p_{k+1},
           area_k = s (tp_k - tp_{k+1} + c log(p_k / p_{k+1})) / P
           (log term taken as 0 when either p is 0).
    "minoring" / "majoring" use min / max of the two end heights instead (lower / upper bounds).
    Every division is 0 where its denominator is 0 (a batch with one class gives AUC 0, as Keras).
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str = "auc", dtype=None,
                 from_logits: bool = False):
        if not isinstance(num_thresholds, int) or isinstance(num_thresholds, bool) \
                or num_thresholds < 2:
            raise ValueError(f"Invalid num_thresholds: expected an int > 1, "
                             f"received {num_thresholds!r}")
        if not isinstance(curve, str) or curve.upper() not in ("ROC", "PR"):
            raise ValueError(f"Invalid curve: expected 'ROC' or 'PR', received {curve!r}")
        methods = ("interpolation", "minoring", "majoring")
        if not isinstance(summation_method, str) or summation_method.lower() not in methods:
            raise ValueError(f"Invalid summation_method: expected one of {list(methods)}, "
                             f"received {summation_method!r}")
        self.num_thresholds = num_thresholds
        self.curve = curve.upper()
        self.summation_method = summation_method.lower()
        self.from_logits = bool(from_logits)
        self._thresholds_cache = None
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self) -> list[float]:
        t = self.num_thresholds
        return [-1e-7] + [(k + 1) / (t - 1) for k in range(t - 2)] + [1.0 + 1e-7]

    def _size(self) -> int:
        return 2 * (self.num_thresholds + 1)  # [negatives | positives] x buckets 0..T

    def _device_thresholds(self, like: torch.Tensor) -> torch.Tensor:
        cached = self._thresholds_cache
        if cached is None or cached.device != like.device or cached.dtype != like.dtype:
            cached = torch.tensor(self.thresholds, dtype=torch.float64).to(like.dtype)
            self._thresholds_cache = cached = cached.to(like.device)
        return cached

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        positive, y_pred, w, acc = self._inputs(y_true, y_pred, sample_weight)
        if self.from_logits:
            y_pred = torch.sigmoid(y_pred)
        p = y_pred.reshape(-1).clamp(0.0, 1.0)
        bucket = torch.searchsorted(self._device_thresholds(p), p)  # #{k : t_k < p}
        index = bucket + positive.reshape(-1) * (self.num_thresholds + 1)
        source = torch.ones_like(p) if w is None else w.reshape(-1)
        acc.index_add_(0, index, source)

    def _counts(self):
        """tp, fp (shape (T,)) and the total positive / negative weights P, N (0-d)."""
        hist = self.counts.value.view(2, self.num_thresholds + 1)
        above = hist.flip(1).cumsum(1).flip(1)  # above[:, b] = sum over buckets >= b
        neg_total, pos_total = above[0, 0], above[1, 0]
        return above[1, 1:], above[0, 1:], pos_total, neg_total

    def result(self) -> torch.Tensor:
        tp, fp, pos_total, neg_total = self._counts()
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr(tp, fp, pos_total)
        recall = div_no_nan(tp, pos_total.expand_as(tp))
        if self.curve == "ROC":
            x, y = div_no_nan(fp, neg_total.expand_as(fp)), recall
        else:
            x, y = recall, div_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum()

    @staticmethod
    def _interpolated_pr(tp, fp, pos_total) -> torch.Tensor:
        p = tp + fp
        dtp = tp[:-1] - tp[1:]
        slope = div_no_nan(dtp, (p[:-1] - p[1:]).clamp(min=0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = torch.where(both, div_no_nan(p[:-1], p[1:]), torch.ones_like(p[1:]))
        area = div_no_nan(slope * (dtp + intercept * torch.log(ratio)), pos_total.expand_as(dtp))
        return area.sum()

    def get_config(self) -> dict:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "curve": self.curve, "summation_method": self.summation_method,
                "from_logits": self.from_logits}
