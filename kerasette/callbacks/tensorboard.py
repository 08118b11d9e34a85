"""`TensorBoard`: write a run's scalars and histograms for TensorBoard, without TensorFlow.

    tb = ks.callbacks.TensorBoard(log_dir="logs", histogram_freq=1)
    model.fit(x, y, epochs=20, validation_split=0.2, callbacks=[tb])
    # then:  tensorboard --logdir logs

Layout and tag names follow Keras 3's callback (keras/src/callbacks/tensorboard.py, Keras 3.16):

    log_dir/train        epoch_loss, epoch_<metric>, epoch_learning_rate        step = epoch (0-based)
                         batch_loss, batch_<metric>   every `update_freq` batches, step = the global
                                                      batch count (1-based); values are the epoch's
                                                      running averages, as in Keras 3
                         <layer>/<weight>/histogram   every `histogram_freq` epochs, step = epoch
                         keras                        the model's config (graph plugin), if write_graph
    log_dir/validation   epoch_loss, epoch_<metric>   from the val_* logs, step = epoch
                         evaluation_<name>_vs_iterations   at the end of each evaluation,
                                                      step = optimizer iterations

Beyond Keras, with `histogram_freq > 0` the same epochs also get, from the epoch's first training
batch (read in `on_backward_end`: gradients computed, not yet applied):

    <layer>/<weight>/gradient_histogram     and     gradient_norm/<layer>   (train run)

With `histogram_freq=0` no batch hook is called at all; with `update_freq="epoch"` neither.

Event files are written with the `tensorboard` package only (its event-file writer and summary
protos; `pip install kerasette[tensorboard]`). Under `ks.distribution` the trainer runs it on rank 0
only (kerasette.distribution.writer_callbacks).
"""

import json
import os
import warnings

import torch

from .callback import Callback
from .gradient_monitor import LayerNorms

HISTOGRAM_BUCKETS = 30  # TensorBoard's default bucket count


def _tensorboard():
    """The pieces of the `tensorboard` package this callback uses (imported on first use)."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError("ks.callbacks.TensorBoard needs the tensorboard package: "
                          "pip install kerasette[tensorboard]  (or pip install tensorboard)") from e
    return EventFileWriter, event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2


class SummaryWriter:
    """One TensorBoard run folder: scalars and histograms appended to an event file."""

    def __init__(self, logdir: str):
        EventFileWriter, self._event, self._summary, self._tensor, self._shape = _tensorboard()
        os.makedirs(logdir, exist_ok=True)
        self._writer = EventFileWriter(logdir)

    def _add(self, value, step: int) -> None:
        summary = self._summary.Summary(value=[value])
        self._writer.add_event(self._event.Event(wall_time=_now(), step=int(step),
                                                 summary=summary))

    def scalar(self, tag: str, value, step: int) -> None:
        self._add(self._summary.Summary.Value(tag=tag, simple_value=float(value)), step)

    def histogram(self, tag: str, values: torch.Tensor, step: int) -> None:
        """A histogram of `values` in TensorBoard's (legacy) HistogramProto: bucket i spans
        (bucket_limit[i-1], bucket_limit[i]], the first starts at min, the last ends at max."""
        v = values.detach().reshape(-1).to("cpu", torch.float64)
        v = v[torch.isfinite(v)]
        if v.numel() == 0:
            return
        lo, hi = float(v.min()), float(v.max())
        if lo == hi:
            limits, counts = [hi], [float(v.numel())]
        else:
            counts = torch.histc(v, bins=HISTOGRAM_BUCKETS, min=lo, max=hi).tolist()
            edges = torch.linspace(lo, hi, HISTOGRAM_BUCKETS + 1, dtype=torch.float64)
            limits = edges[1:].tolist()
            limits[-1] = hi
        histo = self._summary.HistogramProto(
            min=lo, max=hi, num=float(v.numel()), sum=float(v.sum()),
            sum_squares=float(v.square().sum()), bucket_limit=limits, bucket=counts)
        self._add(self._summary.Summary.Value(tag=tag, histo=histo), step)

    def text_tensor(self, tag: str, text: str, plugin: str, content: bytes, step: int) -> None:
        """A string tensor summary owned by `plugin` (the graph plugin reads Keras model JSON)."""
        metadata = self._summary.SummaryMetadata(
            plugin_data=self._summary.SummaryMetadata.PluginData(plugin_name=plugin,
                                                                 content=content))
        tensor = self._tensor.TensorProto(dtype=7, string_val=[text.encode()],  # 7: DT_STRING
                                          tensor_shape=self._shape.TensorShapeProto())
        self._add(self._summary.Summary.Value(tag=tag, metadata=metadata, tensor=tensor), step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def _now() -> float:
    import time

    return time.time()


class TensorBoard(Callback):
    """Log scalars and histograms for TensorBoard (Keras 3's arguments; see module doc).

    Args:
        log_dir: folder of the runs (`train/` and `validation/` are created inside).
        histogram_freq: every how many epochs to write weight histograms (and, beyond Keras,
            gradient histograms and per-layer gradient norms); 0 writes none.
        write_graph: write the model's config for TensorBoard's graph tab (conceptual graph).
        write_images, embeddings_freq, embeddings_metadata: accepted for Keras scripts; not
            implemented (a warning if set).
        write_steps_per_second: also log `epoch_steps_per_second` (and `batch_steps_per_second`).
        update_freq: "epoch", "batch" (= 1) or a positive int N: batch_* scalars every N batches.
        profile_batch: accepted for Keras scripts; 0 (default) only. Profiling is not available
            (as with Keras 3's torch backend); another value gives a warning and is ignored.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        _tensorboard()  # a missing package fails here, not at the end of the first epoch
        if not isinstance(log_dir, (str, os.PathLike)) or not os.fspath(log_dir):
            raise TypeError(f"Invalid log_dir: expected a non-empty path, received {log_dir!r}")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or \
                histogram_freq < 0:
            raise ValueError(f"Invalid histogram_freq: expected an int >= 0 (epochs), received "
                             f"{histogram_freq!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(
                update_freq, int) or update_freq < 1):
            raise ValueError(f"Invalid update_freq: expected 'epoch', 'batch' or a positive int, "
                             f"received {update_freq!r}")
        _check_profile_batch(profile_batch)
        for name, value, default in (("write_images", write_images, False),
                                     ("embeddings_freq", embeddings_freq, 0),
                                     ("embeddings_metadata", embeddings_metadata, None)):
            if value != default:
                warnings.warn(f"TensorBoard: {name}={value!r} is not implemented in kerasette "
                              f"and is ignored", UserWarning, stacklevel=2)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self.profile_batch = profile_batch
        self._writers = {}
        self._reset()

    def _reset(self) -> None:
        self._global_train_batch = 0
        self._epoch = 0
        self._groups = None
        self._grads_due = False
        self._graph_written = False
        self._epoch_start = None
        self._epoch_start_iterations = 0
        self._batch_start = None

    # ----- writers --------------------------------------------------------------------------
    def _writer(self, run: str) -> SummaryWriter:
        if run not in self._writers:
            self._writers[run] = SummaryWriter(os.path.join(self.log_dir, run))
        return self._writers[run]

    def _close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}

    # ----- which hooks run ------------------------------------------------------------------
    def _wants_hook(self, name: str) -> bool:
        # The same answer on every rank (ks.distribution runs the hooks on rank 0 only and keeps
        # the ranks in step on the non-batch ones), so nothing here may depend on the rank.
        if name == "on_backward_end":
            return self.histogram_freq > 0
        if name in ("on_train_batch_begin", "on_train_batch_end"):
            return self.update_freq != "epoch"
        if name in ("on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
                    "on_predict_batch_end"):
            return False
        return super()._wants_hook(name)

    # ----- training -------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._close()
        self._reset()
        if self.write_graph:
            self._write_graph()

    def on_train_end(self, logs=None):
        self._close()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._grads_due = self.histogram_freq > 0 and epoch % self.histogram_freq == 0
        if self.write_steps_per_second:
            self._epoch_start = _now()
            self._epoch_start_iterations = self._iterations()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start = _now()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if step % self.update_freq != 0:
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():  # reading lazy logs waits for the device
            writer.scalar(f"batch_{name}", value, step)
        if self.write_steps_per_second and self._batch_start is not None:
            writer.scalar("batch_steps_per_second", 1.0 / max(_now() - self._batch_start, 1e-9),
                          step)

    def on_backward_end(self, batch, logs=None):
        if not self._grads_due:
            return
        self._grads_due = False  # the epoch's first batch only
        if self._groups is None:
            self._groups = LayerNorms(self.model)
        groups, writer, epoch = self._groups, self._writer("train"), self._epoch
        norms = groups.layer_norms([w.grad for w in groups.weights]).tolist()
        for name, value in zip(groups.names, norms):
            writer.scalar(f"gradient_norm/{name}", value, epoch)
        for w in groups.weights:
            writer.histogram(f"{w.name}/gradient_histogram", w.grad, epoch)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        lr = self._learning_rate()
        if lr is not None:
            train["learning_rate"] = lr
        if self.write_steps_per_second and self._epoch_start is not None:
            seconds = max(_now() - self._epoch_start, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) / seconds
        writer = self._writer("train")
        for name, value in train.items():
            writer.scalar(f"epoch_{name}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for layer in self.model.layers:
                for w in layer.weights:
                    writer.histogram(f"{w.name}/histogram", w.value, epoch)
        writer.flush()
        if val:
            vwriter = self._writer("validation")
            for name, value in val.items():
                vwriter.scalar(f"epoch_{name}", value, epoch)
            vwriter.flush()

    # ----- evaluation -----------------------------------------------------------------------
    def on_test_end(self, logs=None):
        opt = getattr(self.model, "optimizer", None)
        if not logs or opt is None:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.scalar(f"evaluation_{name}_vs_iterations", value, opt.iterations)
        writer.flush()

    # ----- helpers --------------------------------------------------------------------------
    def _iterations(self) -> int:
        opt = getattr(self.model, "optimizer", None)
        return int(getattr(opt, "iterations", 0) or 0)

    def _learning_rate(self):
        opt = getattr(self.model, "optimizer", None)
        try:
            return float(opt.learning_rate) if opt is not None else None
        except (TypeError, ValueError, AttributeError):
            return None

    def _write_graph(self) -> None:
        """The model's config as Keras's `keras_model_summary` writes it (tag "keras", step 0),
        for TensorBoard's graph tab; skipped if the model has no JSON config."""
        if self._graph_written or not hasattr(self.model, "get_config"):
            return
        try:
            text = json.dumps({"class_name": type(self.model).__name__,
                               "config": self.model.get_config()})
        except (TypeError, ValueError) as e:
            warnings.warn(f"TensorBoard: the model's config is not JSON ({e}); no graph written",
                          UserWarning, stacklevel=2)
            return
        writer = self._writer("train")
        writer.text_tensor("keras", text, "graph_keras_model", b"1", 0)
        writer.flush()
        self._graph_written = True


def _check_profile_batch(profile_batch) -> None:
    ok = (isinstance(profile_batch, int) and not isinstance(profile_batch, bool)
          and profile_batch >= 0) or (
        isinstance(profile_batch, (tuple, list)) and len(profile_batch) == 2
        and all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in profile_batch)
        and profile_batch[0] <= profile_batch[1])
    if not ok:
        raise ValueError(f"Invalid profile_batch: expected an int >= 0 or a pair (start, stop) of "
                         f"positive ints, received {profile_batch!r}")
    if profile_batch:
        warnings.warn(f"TensorBoard: profile_batch={profile_batch!r} is ignored; profiling is not "
                      f"available in kerasette (nor in Keras 3's torch backend)", UserWarning,
                      stacklevel=3)
