"""F-beta and F1 scores (Keras 3.16 `keras/src/metrics/f_score_metrics.py`), for 2-D
(batch, classes) inputs, multi-class or multi-label.

A prediction is positive where y_pred > threshold, or, with threshold=None, where y_pred is its
row's maximum (and not ~0): the argmax, as Keras. Per class c (or over all entries for
average="micro"), with e = config.epsilon():
    precision = tp / (tp + fp + e),  recall = tp / (tp + fn + e)
    F = (1 + beta^2) precision recall / (beta^2 precision + recall + e)
average: None -> one score per class; "macro" -> their mean; "weighted" -> weighted by the
(weighted) number of true labels of each class; "micro" -> one score from the pooled counts.
State (sums, created on the first update, when the number of classes is known): true_positives,
false_positives, false_negatives and intermediate_weights (the weighted label counts).
"""

import torch

from .. import config
from .base import Metric, is_number, sample_weights, to_tensor

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """F-beta score; see the module docstring. result(): 0-d, or (C,) for average=None."""

    def __init__(self, average=None, beta: float = 1.0, threshold=None,
                 name: str = "fbeta_score", dtype=None):
        if average not in _AVERAGES:
            raise ValueError(f"Invalid average: expected one of {list(_AVERAGES)}, received "
                             f"{average!r}")
        if not is_number(beta) or not beta > 0:
            raise ValueError(f"Invalid beta: expected a float > 0, received {beta!r}")
        if threshold is not None and (not is_number(threshold) or not 0 < threshold <= 1):
            raise ValueError(f"Invalid threshold: expected None or a float in (0, 1], received "
                             f"{threshold!r}")
        self.average = average
        self.beta = float(beta)
        self.threshold = None if threshold is None else float(threshold)
        super().__init__(name=name, dtype=dtype)
        self._built = False

    def _build(self, num_classes: int) -> None:
        shape = () if self.average == "micro" else (num_classes,)
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, "zeros",
                                                      name="intermediate_weights")
        self._fresh = True
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = to_tensor(y_pred)
        y_true = to_tensor(y_true, y_pred.device)
        if y_pred.dim() != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"Invalid y_true: {self.name} expects 2-D y_true and y_pred of the "
                             f"same shape (batch, classes), received y_true "
                             f"{tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)}")
        w = None
        if sample_weight is not None:
            if is_number(sample_weight):
                w = torch.tensor(float(sample_weight))
            else:
                w = sample_weights(sample_weight, y_pred.shape[0], y_pred.device, torch.float64)
        if not self._built:
            self._build(y_pred.shape[1])
        elif self.average != "micro" and self.true_positives.shape != (y_pred.shape[1],):
            raise ValueError(f"Invalid y_pred: {self.name} was built for "
                             f"{self.true_positives.shape[0]} classes, received "
                             f"{y_pred.shape[1]}")
        dtype = self._prepare(y_pred)
        if self.threshold is None:
            predicted = (y_pred >= y_pred.amax(-1, keepdim=True)) & (y_pred.abs() > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.to(dtype)
        truth = y_true.to(dtype)
        if w is not None:
            w = w.to(device=y_pred.device, dtype=dtype)
            w = w.reshape(-1, 1) if w.dim() == 1 else w
        axis = None if self.average == "micro" else 0

        def weighted_sum(values):
            values = values if w is None else values * w
            return values.sum() if axis is None else values.sum(axis)

        self.true_positives.value.add_(weighted_sum(predicted * truth))
        self.false_positives.value.add_(weighted_sum(predicted * (1.0 - truth)))
        self.false_negatives.value.add_(weighted_sum((1.0 - predicted) * truth))
        self.intermediate_weights.value.add_(weighted_sum(truth))

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self.dtype)
        eps = config.epsilon()
        tp, fp, fn = self.true_positives.value, self.false_positives.value, \
            self.false_negatives.value
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta ** 2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + eps)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            return (score * weights / (weights.sum() + eps)).sum()
        if self.average == "macro":
            return score.mean()
        return score

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the F-beta score with beta = 1 (harmonic mean of precision and recall)."""

    def __init__(self, average=None, threshold=None, name: str = "f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config_ = super().get_config()
        del config_["beta"]
        return config_
