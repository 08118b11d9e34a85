"""The coefficient of determination R^2 (Keras 3.16 `keras/src/metrics/regression_metrics.py`),
for (batch, outputs) inputs, accumulated over every batch seen.

Per output j, with weights w_i (1 without sample weights):
    SS_res_j = sum_i w_i (y_ij - p_ij)^2,   SS_tot_j = sum_i w_i y_ij^2 - (sum_i w_i y_ij)^2 / sum_i w_i
    R2_j = 1 - SS_res_j / SS_tot_j          (0 where that is infinite, as Keras, and 0 before
                                             any sample, where Keras gives NaN)
class_aggregation: "uniform_average" -> mean_j R2_j; "variance_weighted_average" ->
sum_j SS_tot_j R2_j / sum_j SS_tot_j; None -> the vector. With num_regressors = p > 0 the result
is adjusted: 1 - (1 - R2) (n - 1) / (n - p - 1), n the number of samples with a nonzero weight;
where n - 1 <= p Keras warns and keeps the plain R2 -- so does this, without the warning (a
warning would need the count read back from the device at every result()).
State (sums): num_samples, and per output (created on the first update): sum, squared_sum,
residual, count.
"""

import torch

from .base import Metric, align, is_number, sample_weights, to_tensor

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """R^2; see the module docstring. y_true, y_pred: (N, k), or (N,) taken as (N, 1)."""

    def __init__(self, class_aggregation="uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype=None):
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(f"Invalid class_aggregation: expected one of {list(_AGGREGATIONS)}, "
                             f"received {class_aggregation!r}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) \
                or num_regressors < 0:
            raise ValueError(f"Invalid num_regressors: expected an int >= 0, received "
                             f"{num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        super().__init__(name=name, dtype=dtype)
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self._built = False

    def _build(self, outputs: int) -> None:
        self.squared_sum = self.add_variable((outputs,), "zeros", name="squared_sum")
        self.sum = self.add_variable((outputs,), "zeros", name="sum")
        self.total_mse = self.add_variable((outputs,), "zeros", name="residual")
        self.count = self.add_variable((outputs,), "zeros", name="count")
        self._fresh = True
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = to_tensor(y_pred)
        y_true, y_pred = align(to_tensor(y_true, y_pred.device), y_pred)
        if y_pred.dim() == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        if y_pred.dim() != 2:
            raise ValueError(f"Invalid y_pred: {self.name} expects inputs of shape (batch, "
                             f"outputs), received {tuple(y_pred.shape)}")
        n = y_pred.shape[0]
        w = None
        if sample_weight is not None:
            w = torch.tensor(float(sample_weight)) if is_number(sample_weight) else \
                sample_weights(sample_weight, n, y_pred.device, torch.float64)
        if not self._built:
            self._build(y_pred.shape[1])
        elif self.sum.shape != (y_pred.shape[1],):
            raise ValueError(f"Invalid y_pred: {self.name} was built for {self.sum.shape[0]} "
                             f"outputs, received {y_pred.shape[1]}")
        dtype = self._prepare(y_pred)
        y, p = y_true.to(dtype), y_pred.to(dtype)
        if w is None:
            w = torch.ones((), dtype=dtype, device=y.device)
        w = w.to(device=y.device, dtype=dtype)
        w_full = (w.reshape(-1, 1) if w.dim() == 1 else w).expand_as(y)
        weighted_y = y * w_full
        self.sum.value.add_(weighted_y.sum(0))
        self.squared_sum.value.add_((y * weighted_y).sum(0))
        self.total_mse.value.add_(((y - p).square() * w_full).sum(0))
        self.count.value.add_(w_full.sum(0))
        self.num_samples.value.add_((w_full != 0).any(-1).sum())

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self.dtype)
        total_sum, count = self.sum.value, self.count.value
        total = self.squared_sum.value - total_sum * (total_sum / count)
        raw = 1 - self.total_mse.value / total
        # 0 where infinite (Keras), and where nothing was seen yet (0 / 0)
        raw = torch.where(raw.isinf() | (count == 0), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            n, p = self.num_samples.value, float(self.num_regressors)
            adjusted = 1 - (1 - score) * (n - 1) / (n - p - 1)
            score = torch.where(n - 1 > p, adjusted, score)
        return score

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
