"""`Trainer`: compile / fit / evaluate / predict for any model with named inputs and outputs.

`kerasette.models.Model` inherits it (as Keras 3's Model inherits its trainer). What it needs from
the model: `_prepare_x` / `build` on first data, `input_shape` / `output_shape`, the flat weight
buffers, and `_run(xs, training, steps) -> (outputs, backward)`, the graph executor.

One training step, in plain words:
    out, pred, backward = self._forward(x, training=True, fused=...)   # out feeds the loss
    loss_value, dloss = train_loss.forward(y, out, sample_weight)
    optimizer.zero_grad(); backward(dloss())                           # grads land in the flat buffer
    optimizer.step()
"""

import numbers
import warnings

import numpy as np
import torch

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optimizers as optimizers_mod
from ..callbacks import CallbackList
from ..data import (
    ArrayBatches,
    check_finite,
    check_positive_int,
    is_dataset,
    split_tail,
    to_tensor,
)
from ..models.arguments import (
    as_list,
    batch_size_arg,
    check_metric_id,
    nonneg_int,
    single_batch_size,
    unique_name,
    validation_freq_arg,
    verbose_arg,
)
from ..models.build_rollback import keeps_unbuilt_on_error
from ..models.loader_batches import LoaderBatches, no_batches_error
from ..models.logs import LazyLogs
from ..models.targets import (
    class_weight_to_sample_weight,
    degenerate_split_warning,
    loss_kind,
    prepare_targets,
)
from .heads import fusable_activation


class NotCompiledError(ValueError, RuntimeError):
    """Raised by fit / evaluate / train_on_batch on a model that was not compiled."""


class Trainer:
    """The training API; mixed into `Model`."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._metric_ids: list = []
        self._weighted_metric_ids: list = []
        self._metrics: list = []          # resolved Metric objects (unweighted), after first data
        self._weighted_metrics: list = []
        self._train_loss = None           # the loss the gradient comes from (maybe fused)
        self._fused = False
        self._output_act = None           # the fused output's activation (probabilities for metrics)
        self._resume_epoch = None

    # ----- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, weighted_metrics=None,
                loss_weights=None, run_eagerly=False, steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True):
        """Choose the optimizer, loss and metrics (Keras 3 signature).

        `run_eagerly`, `jit_compile` and `auto_scale_loss` are accepted for Keras compatibility and have
        no effect (kerasette always runs eagerly). `loss_weights` applies to multi-output models only
        and must be None here; `steps_per_execution` must be 1.
        """
        if loss_weights is not None:
            raise ValueError(f"Invalid loss_weights: single-output models take None, received "
                             f"{loss_weights!r}")
        if steps_per_execution != 1:
            raise ValueError(f"Invalid steps_per_execution: only 1 is supported, received "
                             f"{steps_per_execution!r}")
        opt = optimizers_mod.get(optimizer)
        loss_obj = losses_mod.get(loss) if loss is not None else None
        metric_ids = as_list(metrics, "metrics")
        weighted_ids = as_list(weighted_metrics, "weighted_metrics")
        for arg, ids in (("metrics", metric_ids), ("weighted_metrics", weighted_ids)):
            for ident in ids:  # unknown ids fail now, not at fit time
                check_metric_id(ident, arg)
        if self.built and not self.trainable_weights or not self.built and self.layers and not any(
                layer.trainable for layer in self.layers):
            raise ValueError(f"Invalid model: '{self.name}' has no trainable weights to compile "
                             f"(every layer is frozen with trainable=False, or none has weights); "
                             f"unfreeze a layer first")
        if self.built:
            opt.build(self.weights)
        self.optimizer, self.loss = opt, loss_obj
        self._metric_ids, self._weighted_metric_ids = metric_ids, weighted_ids
        self._metrics, self._weighted_metrics = [], []
        self.compiled = True
        if self.built:
            self._after_build()

    def _after_build(self) -> None:
        """Work that needs both the compiled loss/optimizer and the built layers."""
        self._pack_weights()
        if not self.compiled:
            return
        self.optimizer.build(self.weights)
        self._fused = False
        self._train_loss = self.loss
        act = fusable_activation(self._graph, 0)
        if self.loss is not None and act is not None and hasattr(self.loss, "fused_with"):
            fused = self.loss.fused_with(act.name)
            if fused is not None:
                self._train_loss, self._fused, self._output_act = fused, True, act

    def _plan(self, fused: bool):
        """The executor's steps for the current trainable flags (logits for a fused output)."""
        return self._graph.plan(logits=(0,) if fused else ())

    def _forward(self, x, training: bool, fused: bool = False, steps=None):
        """(out, pred, backward): `out` feeds the loss, `pred` the metrics (they differ when fused:
        out holds logits, pred the probabilities)."""
        outs, backward = self._run([x], training, steps or self._plan(fused))
        out = outs[0]
        pred = self._output_act.forward(out)[0] if fused else out
        return out, pred, lambda dy: backward([dy])

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"Model '{self.name}' is not built yet: {what} needs its weights. Start "
                             f"it with ks.Input(shape=...) or call fit / predict / build first")

    def _require_compiled(self, what: str) -> None:
        if not self.compiled or self.loss is None:
            raise NotCompiledError(f"You must call compile(optimizer=..., loss=...) before {what}()")

    # ----- metrics ---------------------------------------------------------------------------
    def _resolve_metrics(self, y_sample: torch.Tensor) -> None:
        """Turn metric ids into objects once the label and output shapes are known."""
        if len(self._metrics) == len(self._metric_ids) and \
                len(self._weighted_metrics) == len(self._weighted_metric_ids):
            return
        pred_sample = torch.zeros((1, *self.output_shape[1:]), dtype=self._dtype,
                                  device=self._device)
        plain = [metrics_mod.get(i, y_true=y_sample, y_pred=pred_sample)
                 for i in self._metric_ids]
        # Every log key distinct, as in Keras: a repeated name gets _1, _2... ("auc", "auc_1"),
        # never overwriting another metric's column, nor the loss.
        names = {"loss"}
        for m in plain:
            m.name = unique_name(m.name, names)
        weighted = []
        for ident in self._weighted_metric_ids:
            m = metrics_mod.get(ident, y_true=y_sample, y_pred=pred_sample)
            if m.name in names:
                m.name = "weighted_" + m.name
            m.name = unique_name(m.name, names)
            weighted.append(m)
        for m in plain + weighted:  # labels a metric cannot take fail here, not after a step
            m.update_state(y_sample, pred_sample)
            m.reset_state()
        self._metrics, self._weighted_metrics = plain, weighted

    def _reset_metrics(self) -> None:
        for m in self._metrics + self._weighted_metrics:
            m.reset_state()

    def _update_metrics(self, y, pred, sw) -> None:
        for m in self._metrics:
            m.update_state(y, pred)
        for m in self._weighted_metrics:
            m.update_state(y, pred, sw)

    def _running_logs(self, loss_sum, count: int) -> LazyLogs:
        """Loss and metrics so far as lazy logs: new 0-d tensors (no waiting for the device), a
        snapshot that later batches do not change."""
        values = {"loss": loss_sum / max(count, 1)}
        for m in self._metrics + self._weighted_metrics:
            values[m.name] = m.result()
        return LazyLogs(values)

    @property
    def metrics_names(self) -> list:
        return ["loss"] + [m.name for m in self._metrics + self._weighted_metrics]

    # ----- input checks ----------------------------------------------------------------------
    def _prepare_x(self, x, name="x") -> torch.Tensor:
        """Validate features, build the model on first data, move to the model's device/dtype."""
        x = to_tensor(x, name)
        if not self.built:
            try:
                self.build((None, *x.shape[1:]))
            except ValueError as e:  # a layer refused the shape: say which argument gave it
                hint = "; for one feature per sample pass x.reshape(-1, 1)" if x.dim() == 1 else ""
                raise ValueError(f"Invalid {name}: model '{self.name}' cannot be built for inputs "
                                 f"of shape {tuple(x.shape)} ({e}){hint}") from e
        x = self._match_input_rank(x)
        expected = self.input_shape[1:]
        if tuple(x.shape[1:]) != tuple(expected):
            raise ValueError(f"Invalid {name}: model '{self.name}' expects inputs of shape "
                             f"{tuple(self.input_shape)}, received {tuple(x.shape)}")
        x = x.to(device=self._device, dtype=self._dtype)
        check_finite(x, name)
        return x

    def _match_input_rank(self, x: torch.Tensor) -> torch.Tensor:
        """Keras's rule: inputs declared (None, ..., 1) also take x without that last axis (x of
        shape (N,) for ks.Input((1,))); a view with the axis added."""
        expected = tuple(self.input_shape[1:])
        if expected[-1:] == (1,) and tuple(x.shape[1:]) == expected[:-1]:
            return x.unsqueeze(-1)
        return x

    def _prepare_sample_weight(self, sw, n: int, name="sample_weight"):
        if sw is None:
            return None
        sw = to_tensor(sw, name)
        if sw.dim() == 2 and sw.shape[1] == 1:
            sw = sw[:, 0]
        if sw.dim() != 1 or sw.shape[0] != n:
            raise ValueError(f"Invalid {name}: expected shape ({n},) to match x, received "
                             f"{tuple(sw.shape)}")
        sw = sw.to(device=self._device, dtype=self._dtype)
        check_finite(sw, name)
        if bool((sw < 0).any()):
            raise ValueError(f"Invalid {name}: expected non-negative weights, received negative ones")
        return sw

    def _prepare_xy(self, x, y, sw=None, names=("x", "y", "sample_weight")):
        """Validated (x, y, sample_weight) tensors on the model's device."""
        xt = to_tensor(x, names[0])
        yt = to_tensor(y, names[1])
        if yt.shape[0] != xt.shape[0]:
            raise ValueError(f"Invalid {names[1]}: expected {xt.shape[0]} samples to match "
                             f"{names[0]}, received {yt.shape[0]}")
        xt = self._prepare_x(xt, names[0])
        yt = prepare_targets(yt, self.loss, self.output_shape, self._dtype, self._device, names[1])
        swt = self._prepare_sample_weight(sw, xt.shape[0], names[2])
        return xt, yt, swt

    # ----- one step --------------------------------------------------------------------------
    def _loss_and_pred(self, x, y, sw, training):
        """Forward: (loss value, predictions for metrics, backward of the network, loss backward)."""
        out, pred, backward = self._forward(x, training, self._fused)
        value, dloss = self._train_loss.forward(y, out, sw)
        return value, pred, backward, dloss

    # ----- fit -------------------------------------------------------------------------------
    @keeps_unbuilt_on_error
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs; returns the `History` (Keras 3 semantics; see DESIGN.md §1)."""
        # --- every argument is checked before anything changes -------------------------------
        self._require_compiled("fit")
        batch_size = batch_size_arg(batch_size, "batch_size")
        validation_batch_size = batch_size_arg(validation_batch_size or batch_size,
                                                "validation_batch_size")
        nonneg_int(epochs, "epochs")
        nonneg_int(initial_epoch, "initial_epoch")
        check_positive_int(steps_per_epoch, "steps_per_epoch", allow_none=True)
        check_positive_int(validation_steps, "validation_steps", allow_none=True)
        verbose = verbose_arg(verbose)
        if not isinstance(shuffle, bool):
            raise TypeError(f"Invalid shuffle: expected True or False, received {shuffle!r}")
        if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) \
                or not 0 <= validation_split < 1:
            raise ValueError(f"Invalid validation_split: expected a float in [0, 1), received "
                             f"{validation_split!r}")
        validate_after = validation_freq_arg(validation_freq)

        if is_dataset(x):
            given = [k for k, v in (("y", y), ("sample_weight", sample_weight),
                                    ("class_weight", class_weight)) if v is not None]
            if given:
                raise ValueError(f"Invalid {given[0]}: a Dataset/DataLoader yields its own labels "
                                 f"and weights; pass y=None, sample_weight=None and "
                                 f"class_weight=None")
            if validation_split:
                raise ValueError("Invalid validation_split: it needs arrays; pass validation_data "
                                 "with a Dataset/DataLoader")
            train = LoaderBatches(self, x, batch_size, shuffle, "x")
            steps = steps_per_epoch or (len(train) if train.has_len else None)
        else:
            if x is None or y is None:
                raise ValueError(f"Invalid {'x' if x is None else 'y'}: fit needs both x and y "
                                 f"arrays (or a Dataset/DataLoader as x)")
            xt, yt, swt = self._prepare_xy(x, y, sample_weight)
            kind = loss_kind(self.loss)
            cw = None
            if class_weight is not None:  # weights the training part only (Keras's rule)
                cw = class_weight_to_sample_weight(class_weight, yt, kind,
                                                   int(np.prod(self.output_shape[1:])))
                cw = cw.to(self._dtype)
            if validation_split and validation_data is None:  # validation_data wins, as in Keras
                (xt, yt, swt, cw), (xv, yv, swv, _) = split_tail((xt, yt, swt, cw),
                                                                 validation_split)
                if xt.shape[0] == 0 or xv.shape[0] == 0:
                    raise ValueError(f"Invalid validation_split: {validation_split} of "
                                     f"{xt.shape[0] + xv.shape[0]} samples leaves an empty "
                                     f"{'training' if xt.shape[0] == 0 else 'validation'} set")
                message = degenerate_split_warning(yt, yv, kind)
                if message:
                    warnings.warn(message, UserWarning, stacklevel=2)
                validation_data = (xv, yv, swv)
            if cw is not None:
                swt = cw if swt is None else swt * cw
            self._resolve_metrics(yt[:1])
            train = ArrayBatches(xt, yt, swt, batch_size, shuffle, self._shuffle_generator)
            steps = steps_per_epoch or len(train)
        val = self._validation_batches(validation_data, validation_batch_size)

        # --- training ------------------------------------------------------------------------
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        self.history = cbs.history
        self._fit_has_validation = val is not None  # read by ModelCheckpoint's format check
        self.stop_training = False
        self._resume_epoch = None
        last_logs = None  # on_train_end gets the last epoch's logs, as in Keras
        try:
            cbs.on_train_begin()
            start = self._resume_epoch if self._resume_epoch is not None else initial_epoch
            for epoch in range(start, epochs):
                cbs.on_epoch_begin(epoch)
                logs = self._train_epoch(train, steps_per_epoch, cbs)
                if val is not None and validate_after(epoch + 1) and not self._step_cancelled:
                    val_logs = self._evaluate_batches(val, cbs, validation_steps)
                    logs.update({"val_" + k: v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, logs)
                last_logs = logs
                if self.stop_training:
                    break
        except KeyboardInterrupt:
            # Stop cleanly: callbacks see the end of training, History stays consistent.
            cbs.on_train_end(last_logs)
            raise
        cbs.on_train_end(last_logs)
        return self.history

    def _train_epoch(self, train, steps, cbs) -> dict:
        """One epoch of steps; returns the epoch logs (sample-weighted means, floats)."""
        opt, forward = self.optimizer, self._forward
        batch_hooks, backward_hooks = cbs.has_train_batch_hooks, cbs.has_backward_hooks
        self._reset_metrics()
        loss_sum = loss_fn = None
        count = 0
        self._step_cancelled = False
        for step, (xb, yb, swb) in enumerate(train.epoch(steps)):
            if loss_fn is None:  # read after the first batch: with a Dataset, it builds the model
                loss_fn, fused = self._train_loss, self._fused  # and resolves the metrics
                plan = self._plan(fused)
                has_metrics = bool(self._metrics or self._weighted_metrics)
            if batch_hooks:
                cbs.on_train_batch_begin(step)
            out, pred, backward = forward(xb, True, fused, plan)
            value, dloss = loss_fn.forward(yb, out, swb)
            n = xb.shape[0]
            # Running sum of batch losses weighted by batch size, kept on the device.
            loss_sum = value * n if loss_sum is None else loss_sum.add_(value, alpha=n)
            count += n
            opt.zero_grad()
            backward(dloss())
            if backward_hooks:
                cbs.on_backward_end(step, LazyLogs({"loss": value}))
                if self.stop_training:  # a callback cancelled this step (e.g. TerminateOnNaN)
                    self._step_cancelled = True
                    break
            opt.step()
            if has_metrics:
                self._update_metrics(yb, pred, swb)
            if batch_hooks:
                cbs.on_train_batch_end(step, self._running_logs(loss_sum, count))
            if self.stop_training:
                break
        if count == 0:
            raise no_batches_error(train)
        return dict(self._running_logs(loss_sum, count))

    # ----- evaluate --------------------------------------------------------------------------
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
        self._resolve_metrics(yv[:1])
        return ArrayBatches(xv, yv, swv, batch_size, False)

    def _evaluate_batches(self, batches, cbs, steps=None) -> dict:
        """Loss and metrics over `batches` (no gradient); fires the on_test_* hooks."""
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
            value, _ = self._train_loss.forward(yb, out, swb)
            n = xb.shape[0]
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
            if x is None or y is None:
                raise ValueError(f"Invalid {'x' if x is None else 'y'}: evaluate needs x and y")
            xt, yt, swt = self._prepare_xy(x, y, sample_weight)
            self._resolve_metrics(yt[:1])
            batches = ArrayBatches(xt, yt, swt, batch_size, False)
            n_steps = min(steps or len(batches), len(batches))
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
            steps=n_steps)
        logs = self._evaluate_batches(batches, cbs, steps)
        if return_dict:
            return logs
        values = [logs[k] for k in self.metrics_names]
        return values[0] if len(values) == 1 else values

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
            as_numpy = not isinstance(x, torch.Tensor)
            out_device = None if as_numpy else x.device
            xt = self._prepare_x(x)
            batches = ArrayBatches(xt, None, None, batch_size, False)
            n_steps = min(steps or len(batches), len(batches))
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
            steps=n_steps)
        cbs.on_predict_begin()
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
        result = torch.cat(outputs) if len(outputs) > 1 else outputs[0]
        if as_numpy:
            return result.cpu().numpy()
        return result.to(out_device)

    # ----- single batches --------------------------------------------------------------------
    @keeps_unbuilt_on_error
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns the loss (and metrics) of that batch."""
        self._require_compiled("train_on_batch")
        xt, yt, swt = self._prepare_xy(x, y, sample_weight)
        if class_weight is not None:
            cw = class_weight_to_sample_weight(class_weight, yt, loss_kind(self.loss),
                                               int(np.prod(self.output_shape[1:]))).to(self._dtype)
            swt = cw if swt is None else swt * cw
        self._resolve_metrics(yt[:1])
        self._reset_metrics()
        value, pred, backward, dloss = self._loss_and_pred(xt, yt, swt, True)
        self.optimizer.zero_grad()
        backward(dloss())
        self.optimizer.step()
        self._update_metrics(yt, pred, swt)
        return self._batch_result(value, return_dict)

    @keeps_unbuilt_on_error
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) on one batch, no update."""
        self._require_compiled("test_on_batch")
        xt, yt, swt = self._prepare_xy(x, y, sample_weight)
        self._resolve_metrics(yt[:1])
        self._reset_metrics()
        value, pred, _, _ = self._loss_and_pred(xt, yt, swt, False)
        self._update_metrics(yt, pred, swt)
        return self._batch_result(value, return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch (same conversions as predict)."""
        return self.predict(x, batch_size=single_batch_size(x), verbose=0)

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

