"""`Trainer`: compile / fit / train_on_batch for any model with named inputs and outputs (evaluate and
predict: evaluation.py).

`kerasette.models.Model` inherits it (as Keras 3's Model inherits its trainer). What it needs from
the model: `build` on first data, `input_shape` / `output_shape`, input and output names, the flat
weight buffers, and `_run(xs, training, steps) -> (outputs, backward)`, the graph executor. What x, y
and sample_weight may be, and their checks, live in data_adapter.py.

One training step, in plain words:
    out, pred, backward = self._forward(x, training=True, fused=...)   # out feeds the loss
    loss_value, dloss = train_loss.forward(y, out, sample_weight)
    optimizer.zero_grad(); backward(dloss())                           # grads land in the flat buffer
    optimizer.step()
"""

import numbers
import warnings

from .. import losses as losses_mod
from .. import optimizers as optimizers_mod
from ..callbacks import CallbackList
from ..data import _index, _rows, check_positive_int
from ..distribution.writer_callbacks import wrap_writers
from ..models.arguments import (
    as_list,
    batch_size_arg,
    check_metric_id,
    nonneg_int,
    validation_freq_arg,
    verbose_arg,
)
from ..models.build_rollback import keeps_unbuilt_on_error
from ..models.loader_batches import no_batches_error
from ..models.logs import LazyLogs
from . import distributed, fit_data, masks
from .evaluation import Evaluation
from .heads import fusable_activation
from .outputs import (
    AddedLossesOnly,
    MultiLoss,
    ScaledLoss,
    build_metrics,
    resolve_loss_weights,
    resolve_losses,
    resolve_metric_ids,
    trace_function_losses,
)
from .penalties import Penalties
from .structure import _metric_groups


class NotCompiledError(ValueError, RuntimeError):
    """Raised by fit / evaluate / train_on_batch on a model that was not compiled."""


class Trainer(Evaluation, Penalties, masks.OutputMasks):
    """The training API (compile, fit, train_on_batch; evaluate and predict come from
    `Evaluation`); mixed into `Model`."""

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
        self._output_acts = {}            # the same per output index, several outputs
        self._logit_outputs = ()          # outputs whose node runs without its final activation
        self._multi_output = False
        self._loss_spec = None            # compile's loss / loss_weights / metrics as given
        self._loss_weights_spec = None
        self._metric_spec = None
        self._weighted_spec = None
        self._metrics_resolved = False
        self._resume_epoch = None

    # ----- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, weighted_metrics=None,
                loss_weights=None, run_eagerly=False, steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True):
        """Choose the optimizer, loss and metrics (Keras 3 signature).

        `run_eagerly`, `jit_compile` and `auto_scale_loss` are accepted for Keras compatibility and have
        no effect (kerasette always runs eagerly); `steps_per_execution` must be 1. For a model with
        several outputs, `loss`, `loss_weights`, `metrics` and `weighted_metrics` may be lists (in
        output order) or dicts keyed by output name (see `kerasette.training.outputs`).
        """
        if steps_per_execution != 1:
            raise ValueError(f"Invalid steps_per_execution: only 1 is supported, received "
                             f"{steps_per_execution!r}")
        opt = optimizers_mod.get(optimizer)
        structured = isinstance(loss, (list, tuple, dict))
        if structured:
            loss_obj = type(loss)(losses_mod.get(v) if v is not None else None for v in loss) \
                if not isinstance(loss, dict) else {k: losses_mod.get(v) if v is not None else None
                                                    for k, v in loss.items()}
        else:
            loss_obj = losses_mod.get(loss) if loss is not None else None
        if loss_weights is not None:
            resolve_loss_weights(loss_weights, list(loss_weights) if isinstance(
                loss_weights, dict) else [str(i) for i in range(
                    len(loss_weights) if isinstance(loss_weights, (list, tuple)) else 1)])
        for arg, spec in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            for ids in _metric_groups(spec, arg):
                for ident in ids:  # unknown ids fail now, not at fit time
                    check_metric_id(ident, arg)
        metric_ids = metrics if isinstance(metrics, (list, tuple, dict)) else as_list(
            metrics, "metrics")
        weighted_ids = weighted_metrics if isinstance(weighted_metrics, (list, tuple, dict)) else \
            as_list(weighted_metrics, "weighted_metrics")
        if self.built and self.trainable_weights:  # a frozen model compiles too (evaluate it)
            opt.build(self.weights)
        self.optimizer, self.loss = opt, loss_obj
        self._loss_spec, self._loss_weights_spec = loss_obj, loss_weights
        self._metric_spec, self._weighted_spec = metric_ids, weighted_ids
        self._metric_ids, self._weighted_metric_ids = metric_ids, weighted_ids
        self._metrics, self._weighted_metrics = [], []
        self._metrics_resolved = False
        self.compiled = True
        if self.built:
            self._after_build()

    def _after_build(self) -> None:
        """Work that needs both the compiled loss/optimizer and the built layers."""
        self._pack_weights()
        if not self.compiled:
            return
        if self.trainable_weights:
            self.optimizer.build(self.weights)
        names = self.output_names
        losses = resolve_losses(self._loss_spec, names) if self._loss_spec is not None else None
        weights = resolve_loss_weights(self._loss_weights_spec, names)
        self._metric_ids = resolve_metric_ids(self._metric_spec, names, "metrics")
        self._weighted_metric_ids = resolve_metric_ids(self._weighted_spec, names,
                                                       "weighted_metrics")
        self._metrics_resolved = False
        self._multi_output = len(names) > 1
        self._fused, self._output_act, self._output_acts, self._logit_outputs = False, None, {}, ()
        self._train_loss = None
        self._collect_penalties()
        if losses is None:
            if self._loss_terms:  # trained by the add_loss terms of a traced call() alone
                self._train_loss = AddedLossesOnly(len(names))
            return
        train_losses = []
        for k, loss in enumerate(losses):  # fuse each output's sigmoid / softmax with its loss
            act = fusable_activation(self._graph, k)
            fused = loss.fused_with(act.name) if loss is not None and act is not None and \
                hasattr(loss, "fused_with") else None
            if fused is not None:
                self._output_acts[k] = act
            train_losses.append(fused or loss)
        self._logit_outputs = tuple(self._output_acts)
        self._fused = bool(self._output_acts)
        if not self._multi_output:
            self._output_act = self._output_acts.get(0)
            self.loss = losses[0]
            self._train_loss = train_losses[0] if weights[0] == 1.0 else \
                ScaledLoss(train_losses[0], weights[0])
        else:
            self._train_loss = MultiLoss(train_losses, weights)

    def _plan(self, fused: bool, overwrite: bool = False):
        """The executor's steps for the current trainable flags (logits for a fused output;
        `overwrite`: gradients written, not added, where the graph allows it — every output has a
        loss, so every trainable node's backward runs once per step)."""
        if overwrite and self._train_loss is not None and self._multi_output and any(
                loss is None for loss in self._train_loss.losses):
            overwrite = False
        return self._graph.plan(logits=self._logit_outputs if fused else (), overwrite=overwrite)

    def _forward(self, x, training: bool, fused: bool = False, steps=None):
        """(out, pred, backward): `out` feeds the loss, `pred` the metrics (they differ when fused:
        out holds logits, pred the probabilities). With several inputs x is a tuple; with several
        outputs out and pred are lists and backward takes a list."""
        for layer in self._loss_layers:  # add_loss values are those of this forward only
            layer._losses.clear()
        outs, backward = self._run_keeping_masks(list(x) if isinstance(x, tuple) else [x],
                                                 training, steps or self._plan(fused))
        if self._multi_output or len(outs) > 1:
            acts = self._output_acts if fused else {}
            preds = [acts[k].forward(o)[0] if k in acts else o for k, o in enumerate(outs)]
            return outs, preds, backward
        out = outs[0]
        pred = self._output_act.forward(out)[0] if fused else out
        return out, pred, lambda dy: backward([dy])

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"Model '{self.name}' is not built yet: {what} needs its weights. Start "
                             f"it with ks.Input(shape=...) or call fit / predict / build first")

    def _require_compiled(self, what: str) -> None:
        """NotCompiledError unless compiled with a loss, or without one for a model whose traced
        call() adds loss terms (decided once it is built)."""
        if not self.compiled or self.loss is None and self.built and not self._loss_terms:
            raise NotCompiledError(f"You must call compile(optimizer=..., loss=...) before {what}()")

    def _require_trainable(self, what: str) -> None:
        """ValueError when nothing would change: every layer frozen, or no weights at all (Keras
        warns and runs; a fit that cannot learn is almost always a mistake)."""
        if self.built and not self.trainable_weights or not self.built and self.layers and not any(
                layer.trainable for layer in self.layers):
            raise ValueError(f"Invalid model: '{self.name}' has no trainable weights, so {what}() "
                             f"would change nothing (every layer is frozen with trainable=False, "
                             f"or none has weights); unfreeze a layer and compile again, or use "
                             f"evaluate()")
        if self.built and self.optimizer.buffer is None:  # compiled while everything was frozen
            self.optimizer.build(self.weights)

    # ----- metrics ---------------------------------------------------------------------------
    def _resolve_metrics(self, y_sample) -> None:
        """Turn metric ids into objects once the label and output shapes are known (one sample
        `y_sample`: a tensor, or a tuple of one per output); see `outputs.build_metrics`."""
        if self._metrics_resolved:
            return
        self._metrics, self._weighted_metrics = build_metrics(self, y_sample)
        trace_function_losses(self, y_sample)
        self._metrics_resolved = True

    def _reset_metrics(self) -> None:
        for m in self._metrics + self._weighted_metrics:
            m.reset_state()

    def _update_metrics(self, y, pred, sw) -> None:
        plain, sw = self._metric_weights(sw, pred)  # masks: padded positions are not scored
        for m in self._metrics:
            m.update_state(y, pred, *plain)
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

    # ----- one step --------------------------------------------------------------------------
    def _loss_and_pred(self, x, y, sw, training):
        """Forward: (loss value, predictions for metrics, backward of the network, loss backward)."""
        out, pred, backward = self._forward(x, training, self._fused)
        value, dloss = self._train_loss.forward(y, out, self._loss_weights(sw, out))
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
        self._require_trainable("fit")
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

        train, steps, validation_data = fit_data.fit_batches(
            self, x, y, sample_weight, class_weight, validation_split, validation_data,
            batch_size, shuffle, steps_per_epoch)
        val = self._validation_batches(validation_data, validation_batch_size)

        # --- training ------------------------------------------------------------------------
        strategy = distributed.connect(self)  # None in one process (kerasette.distribution)
        writer = strategy is None or strategy.is_writer
        if strategy is not None:
            distributed.sync_replicas(self, strategy)
            if not isinstance(callbacks, CallbackList):
                callbacks = wrap_writers(callbacks, strategy)
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0 and writer, model=self,
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
                logs = self._train_epoch(train, steps_per_epoch, cbs) if strategy is None else \
                    distributed.train_epoch(self, train, steps_per_epoch, cbs, strategy)
                if logs is None:  # a generator ran out (warned): no epoch to report
                    break
                if val is not None and validate_after(epoch + 1) and not self._step_cancelled:
                    val_logs = self._evaluate_batches(val, cbs, validation_steps, strategy)
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
                plan = self._plan(fused, overwrite=True)
                zero_grads = not plan.overwrites_all  # else each gradient is written, not added
                has_metrics = bool(self._metrics or self._weighted_metrics)
                penalized = bool(self._regularized or self._loss_layers)
                constrained = bool(self._constrained)
            if batch_hooks:
                cbs.on_train_batch_begin(step)
            out, pred, backward = forward(xb, True, fused, plan)
            value, dloss = loss_fn.forward(yb, out, self._loss_weights(swb, out))
            if zero_grads:
                opt.zero_grad()
            backward(dloss())
            if penalized:  # regularizers and add_loss: into the loss and the gradients
                value = self._penalties(value)
            n = _rows(xb)
            # Running sum of batch losses weighted by batch size, kept on the device.
            loss_sum = value * n if loss_sum is None else loss_sum.add_(value, alpha=n)
            count += n
            if backward_hooks:
                cbs.on_backward_end(step, LazyLogs({"loss": value}))
                if self.stop_training:  # a callback cancelled this step (e.g. TerminateOnNaN)
                    self._step_cancelled = True
                    break
            opt.step()
            if constrained:
                self._apply_constraints()
            if has_metrics:
                self._update_metrics(yb, pred, swb)
            if batch_hooks:
                cbs.on_train_batch_end(step, self._running_logs(loss_sum, count))
            if self.stop_training:
                break
        if count == 0:
            if getattr(train, "exhausted", False) and getattr(train, "_checked", False):
                # A generator that ran out after earlier epochs: Keras 3 warns and stops.
                warnings.warn("Your input ran out of data; interrupting training. Make sure the "
                              "generator can yield at least steps_per_epoch * epochs batches "
                              "(loop with `while True:` and pass steps_per_epoch)", UserWarning,
                              stacklevel=3)
                self.stop_training = True
                return None
            raise no_batches_error(train)
        return dict(self._running_logs(loss_sum, count))

    # ----- single batches --------------------------------------------------------------------
    @keeps_unbuilt_on_error
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns the loss (and metrics) of that batch."""
        self._require_compiled("train_on_batch")
        self._require_trainable("train_on_batch")
        xt, yt, swt = self._prepare_xy(x, y, sample_weight)
        cw = fit_data.class_weights(self, class_weight, yt)
        if cw is not None:
            swt = cw if swt is None else swt * cw
        self._resolve_metrics(_index(yt, slice(0, 1)))
        self._reset_metrics()
        value, pred, backward, dloss = self._loss_and_pred(xt, yt, swt, True)
        self.optimizer.zero_grad()
        backward(dloss())
        value = self._penalties(value)
        self.optimizer.step()
        self._apply_constraints()
        self._update_metrics(yt, pred, swt)
        return self._batch_result(value, return_dict)
