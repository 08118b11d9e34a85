"""`Evaluation`: evaluate, predict, test_on_batch, predict_on_batch and `model(x)` — the passes
that run the model without training it. Mixed into `Trainer` (and so into `Model`); it uses the
trainer's compiled loss, metrics and `_forward`.

    logs = model.evaluate(x, y)     # loss and metrics, sample-weighted means over every batch
    out = model.predict(x)          # outputs in batches; NumPy in -> NumPy out, tensor in -> tensor

Under a distribution each rank runs its share of every batch (`distributed_eval.py`) and every rank
returns the full result.
"""

import torch

from ..callbacks import CallbackList
from ..data import ArrayBatches, _index, _rows, check_positive_int, is_dataset
from ..distribution.writer_callbacks import wrap_writers
from ..models.arguments import batch_size_arg, single_batch_size, verbose_arg
from ..models.build_rollback import keeps_unbuilt_on_error
from ..models.loader_batches import LoaderBatches, no_batches_error
from . import data_adapter, distributed, distributed_eval
from .outputs import concat
from .structure import _is_array_like


class Evaluation:
    """evaluate / predict and their single-batch forms; mixed into `Trainer`."""

    # ----- evaluate --------------------------------------------------------------------------
    # ----- input checks (kerasette/training/data_adapter.py) ---------------------------------
    def _prepare_x(self, x, name="x"):
        return data_adapter.prepare_x(self, x, name)

    def _prepare_xy(self, x, y, sw=None, names=("x", "y", "sample_weight")):
        return data_adapter.prepare_xy(self, x, y, sw, names)

    def _validation_batches(self, validation_data, batch_size):
        if validation_data is None:
            return None
        if is_dataset(validation_data):
            return LoaderBatches(self, validation_data, batch_size, False, "validation_data")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            got = (f"a {type(validation_data).__name__} of length {len(validation_data)}"
                   if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__)
            raise ValueError(f"Invalid validation_data: expected (x_val, y_val) or (x_val, y_val, "
                             f"sample_weight_val), received {got}")
        xv, yv, *rest = validation_data
        xv, yv, swv = self._prepare_xy(xv, yv, rest[0] if rest else None,
                                       ("validation_data x", "validation_data y",
                                        "validation_data sample_weight"))
        self._resolve_metrics(_index(yv, slice(0, 1)))
        return ArrayBatches(xv, yv, swv, batch_size, False)

    def _evaluate_batches(self, batches, cbs, steps=None, strategy=None) -> dict:
        """Loss and metrics over `batches` (no gradient); fires the on_test_* hooks. Under a
        distribution (`strategy`) each rank evaluates its share of every batch (distributed_eval)."""
        if strategy is not None:
            return distributed_eval.evaluate_batches(self, batches, cbs, steps, strategy)
        self._reset_metrics()
        cbs.on_test_begin()
        test_hooks = cbs.has_test_batch_hooks
        loss_sum, count = None, 0
        # One pass from the start, at most `steps` batches: evaluation never wraps around the data
        # nor continues where the previous validation stopped.
        for step, (xb, yb, swb) in enumerate(batches.epoch()):
            if steps is not None and step >= steps:
                break
            if test_hooks:
                cbs.on_test_batch_begin(step)
            out, pred, _ = self._forward(xb, False, self._fused)
            value, _ = self._train_loss.forward(yb, out, self._loss_weights(swb, out))
            if self._regularized or self._loss_layers:
                value = self._penalties(value, grads=False)
            n = _rows(xb)
            loss_sum = value * n if loss_sum is None else loss_sum.add_(value, alpha=n)
            count += n
            self._update_metrics(yb, pred, swb)
            if test_hooks:
                cbs.on_test_batch_end(step, self._running_logs(loss_sum, count))
        if count == 0:
            raise no_batches_error(batches)
        logs = dict(self._running_logs(loss_sum, count))
        cbs.on_test_end(logs)
        return logs

    @keeps_unbuilt_on_error
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss (and metrics) on the given data: a scalar with no metrics, else [loss, *metrics],
        or a dict with `return_dict=True`."""
        self._require_compiled("evaluate")
        batch_size = batch_size_arg(batch_size, "batch_size")
        check_positive_int(steps, "steps", allow_none=True)
        verbose = verbose_arg(verbose)
        if is_dataset(x):
            if y is not None or sample_weight is not None:
                raise ValueError(f"Invalid {'y' if y is not None else 'sample_weight'}: a "
                                 f"Dataset/DataLoader yields its own labels and weights; pass "
                                 f"y=None and sample_weight=None")
            batches = LoaderBatches(self, x, batch_size, False, "x")
            n_steps = min(steps or len(batches), len(batches)) if batches.has_len else steps
        else:
            if x is None or y is None and self.loss is not None:
                raise ValueError(f"Invalid {'x' if x is None else 'y'}: evaluate needs x and y")
            xt, yt, swt = self._prepare_xy(x, y, sample_weight)
            self._resolve_metrics(_index(yt, slice(0, 1)))
            batches = ArrayBatches(xt, yt, swt, batch_size, False)
            n_steps = min(steps or len(batches), len(batches))
        strategy, cbs = self._eval_callbacks(callbacks, verbose, n_steps)
        logs = self._evaluate_batches(batches, cbs, steps, strategy)
        if return_dict:
            return logs
        values = [logs[k] for k in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def _eval_callbacks(self, callbacks, verbose, n_steps):
        """(strategy or None, CallbackList) for evaluate / predict: under a distribution the
        progress bar and the writing callbacks run on rank 0 only, as in fit."""
        strategy = distributed.connect(self)  # None in one process (kerasette.distribution)
        if isinstance(callbacks, CallbackList):
            return strategy, callbacks
        writer = strategy is None or strategy.is_writer
        if strategy is not None:
            callbacks = wrap_writers(callbacks, strategy)
        return strategy, CallbackList(callbacks, add_progbar=verbose != 0 and writer, model=self,
                                      verbose=verbose, epochs=1, steps=n_steps)

    # ----- predict ---------------------------------------------------------------------------
    @keeps_unbuilt_on_error
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for `x` in batches. NumPy in -> NumPy out; tensor in -> tensor out (on x's device)."""
        batch_size = batch_size_arg(batch_size, "batch_size")
        check_positive_int(steps, "steps", allow_none=True)
        verbose = verbose_arg(verbose)
        if is_dataset(x):
            batches = LoaderBatches(self, x, batch_size, False, "x", need_y=False)
            as_numpy, out_device = True, None
            n_steps = min(steps or len(batches), len(batches)) if batches.has_len else steps
        else:
            first = _first_input(x)
            as_numpy = not isinstance(first, torch.Tensor)
            out_device = None if as_numpy else first.device
            xt = self._prepare_x(x)
            batches = ArrayBatches(xt, None, None, batch_size, False)
            n_steps = min(steps or len(batches), len(batches))
        strategy, cbs = self._eval_callbacks(callbacks, verbose, n_steps)
        cbs.on_predict_begin()
        if strategy is not None:  # each rank predicts its share; all rows come back in order
            result = distributed_eval.predict_batches(self, batches, cbs, steps, strategy)
        else:
            result = self._predict_batches(batches, cbs, steps)
        convert = (lambda t: t.cpu().numpy()) if as_numpy else (lambda t: t.to(out_device))
        if not isinstance(result, list):
            return convert(result)
        if isinstance(self._output_structure, dict):  # as the model's outputs were given
            return {name: convert(t) for name, t in zip(self.output_names, result)}
        return [convert(t) for t in result]

    def _predict_batches(self, batches, cbs, steps):
        """The outputs for every batch, joined (a tensor, or a list per output)."""
        hooks = cbs.has_predict_batch_hooks
        outputs = []
        for step, (xb, _, _) in enumerate(batches.epoch()):  # one pass: one output per input
            if steps is not None and step >= steps:
                break
            if hooks:
                cbs.on_predict_batch_begin(step)
            out = self._forward(xb, False, False)[0]
            outputs.append(out)
            if hooks:
                cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if not outputs:
            raise no_batches_error(batches)
        return concat(outputs)

    # ----- single batches --------------------------------------------------------------------
    @keeps_unbuilt_on_error
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) on one batch, no update."""
        self._require_compiled("test_on_batch")
        xt, yt, swt = self._prepare_xy(x, y, sample_weight)
        self._resolve_metrics(_index(yt, slice(0, 1)))
        self._reset_metrics()
        value, pred, _, _ = self._loss_and_pred(xt, yt, swt, False)
        value = self._penalties(value, grads=False)  # as evaluate: regularizers and add_loss
        self._update_metrics(yt, pred, swt)
        return self._batch_result(value, return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch (same conversions as predict)."""
        return self.predict(x, batch_size=single_batch_size(_first_input(x)), verbose=0)

    def _call_on_data(self, x, training=False) -> torch.Tensor:
        """`model(x)`: the outputs for one batch as a tensor on the model's device (Keras's call).

        Builds the model on first data like `predict`; `training=True` runs dropout in its training
        mode. Nothing is recorded for a backward pass.
        """
        return self._forward(self._prepare_x(x), bool(training), False)[0]

    def _batch_result(self, value, return_dict):
        logs = {"loss": float(value)}
        for m in self._metrics + self._weighted_metrics:
            logs[m.name] = float(m.result())
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


def _first_input(x):
    """The first input's data in `x`: a dict's first value or a list's / tuple's first entry when
    they hold one array per input, else `x` itself."""
    if isinstance(x, dict):
        return next(iter(x.values()), None)
    if isinstance(x, (list, tuple)) and x and not _is_array_like(x):
        return x[0]
    return x
