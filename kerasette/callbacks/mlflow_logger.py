"""`MLflowLogger`: a training run in an MLflow tracking store (parameters, metrics, the model).

    logger = ks.callbacks.MLflowLogger(tracking_uri="sqlite:///mlflow.db", experiment_name="disk")
    model.fit(x, y, epochs=50, validation_split=0.2, callbacks=[logger])
    logger.run_id        # then: mlflow ui --backend-store-uri sqlite:///mlflow.db

What one `fit` records, in one MLflow run:

    parameters   fit: epochs, steps_per_epoch (and batch_size when fit reports it)
                 compile: optimizer (class name), optimizer.<argument> for each argument of its
                 config (learning_rate, momentum, ...), loss, metrics
                 model: model_name, num_params, trainable_params
    metrics      every key of the epoch logs (loss, accuracy, val_loss, learning_rate, ...),
                 step = epoch (0-based)
    artifacts    model/model.kerasette        the final model (`model.save`), if log_model
                 checkpoints/<file>           the files of `checkpoint` (a path, a glob, or a
                                              ModelCheckpoint whose filepath may hold {epoch}-style
                                              fields), e.g. the best model of save_best_only

The callback talks to the store through `mlflow.MlflowClient(tracking_uri)` only: it never sets
MLflow's global tracking URI or active run. With no `run_id` and an active run started by the user
(`with mlflow.start_run(): model.fit(...)`) and no `tracking_uri`, it logs into that run and leaves
it open; otherwise it creates a run and ends it (FINISHED) in `on_train_end`. A run it creates gets
the tag `mlflow.source.name = "kerasette"`. Under `ks.distribution` the trainer runs it on rank 0
only (kerasette.distribution.writer_callbacks).
`pip install kerasette[mlflow]`.
"""

import glob
import json
import math
import os
import re
import tempfile
import time
import warnings

from .callback import Callback


def _mlflow():
    try:
        import mlflow
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient
    except ImportError as e:
        raise ImportError("ks.callbacks.MLflowLogger needs the mlflow package: "
                          "pip install kerasette[mlflow]  (or pip install mlflow)") from e
    return mlflow, MlflowClient, Metric, Param


class MLflowLogger(Callback):
    """Log a `fit` to MLflow (see module doc).

    Args:
        tracking_uri: where the store is: "sqlite:///mlflow.db", "file:///abs/mlruns",
            "http://host:5000", ...; None means MLflow's default (MLFLOW_TRACKING_URI, else its
            local default).
        experiment_name: created if missing; None means MLflow's "Default" experiment.
        run_name: name of a created run.
        run_id: log into this existing run instead of creating one (it is left open).
        tags: dict of tags set on the run.
        log_model: save the final model as an artifact at the end of training.
        checkpoint: None, a path or glob of checkpoint files, or a ModelCheckpoint; its files
            are logged under "checkpoints/" at the end of training.
        artifact_location: artifact root for an experiment this callback creates (None: the
            store's default, which for a SQLite store is ./mlruns in the working directory).
    """

    def __init__(self, tracking_uri=None, experiment_name=None, run_name=None, run_id=None,
                 tags=None, log_model=True, checkpoint=None, artifact_location=None):
        super().__init__()
        _mlflow()  # a missing package fails now, not at the end of training
        for arg, value in (("tracking_uri", tracking_uri), ("experiment_name", experiment_name),
                           ("run_name", run_name), ("run_id", run_id),
                           ("artifact_location", artifact_location)):
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise TypeError(f"Invalid {arg}: expected a string or None, received {value!r}")
        if tags is not None and not isinstance(tags, dict):
            raise TypeError(f"Invalid tags: expected a dict of strings or None, received {tags!r}")
        if not isinstance(log_model, bool):
            raise TypeError(f"Invalid log_model: expected True or False, received {log_model!r}")
        if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)) and \
                not hasattr(checkpoint, "filepath"):
            raise TypeError(f"Invalid checkpoint: expected a path, a glob or a ModelCheckpoint, "
                            f"received {type(checkpoint).__name__}")
        self.tracking_uri = None if tracking_uri is None else os.fspath(tracking_uri)
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.log_model = log_model
        self.checkpoint = checkpoint
        self.artifact_location = artifact_location
        self._given_run_id = run_id
        self.run_id = run_id
        self._client = None
        self._owns_run = False

    # ----- run --------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        mlflow, MlflowClient, _, _ = _mlflow()
        self._client = client = MlflowClient(self.tracking_uri)
        active = mlflow.active_run()
        if self._given_run_id is not None:
            self.run_id, self._owns_run = self._given_run_id, False
        elif active is not None and self.tracking_uri is None:
            self.run_id, self._owns_run = active.info.run_id, False
        else:
            experiment_id = self._experiment_id(client)
            tags = {"mlflow.source.name": "kerasette", **self.tags}
            run = client.create_run(experiment_id, run_name=self.run_name,
                                    tags={k: str(v) for k, v in tags.items()})
            self.run_id, self._owns_run = run.info.run_id, True
        if not self._owns_run:
            for k, v in self.tags.items():
                client.set_tag(self.run_id, k, str(v))
        self._log_params(self.run_params())

    def _experiment_id(self, client) -> str:
        name = self.experiment_name or "Default"
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        location = None if self.artifact_location is None else os.fspath(self.artifact_location)
        return client.create_experiment(name, artifact_location=location)

    def run_params(self) -> dict:
        """The parameters logged at the start of training (see module doc)."""
        model, params = self.model, self.params or {}
        out = {"epochs": params.get("epochs"), "steps_per_epoch": params.get("steps")}
        if params.get("batch_size") is not None:
            out["batch_size"] = params["batch_size"]
        opt = getattr(model, "optimizer", None)
        if opt is not None:
            out["optimizer"] = type(opt).__name__
            for k, v in opt.get_config().items():
                if k != "name":
                    out[f"optimizer.{k}"] = v if not isinstance(v, dict) else json.dumps(v)
        loss = getattr(model, "loss", None)
        if loss is not None:
            out["loss"] = _loss_text(loss)
        names = [n for n in getattr(model, "metrics_names", []) if n != "loss"]
        if names:
            out["metrics"] = ",".join(names)
        out["model_name"] = getattr(model, "name", type(model).__name__)
        if getattr(model, "built", False):
            out["num_params"] = model.count_params()
            out["trainable_params"] = sum(w.numel() for w in model.trainable_weights)
        return {k: v for k, v in out.items() if v is not None}

    def _log_params(self, params: dict) -> None:
        _, _, _, Param = _mlflow()
        existing = self._client.get_run(self.run_id).data.params
        new = []
        for k, v in params.items():
            text = str(v)[:6000]
            if k not in existing:
                new.append(Param(k, text))
            elif existing[k] != text:
                warnings.warn(f"MLflowLogger: run {self.run_id} already has parameter {k}="
                              f"{existing[k]!r}; the new value {text!r} is not logged (MLflow "
                              f"parameters cannot change)", UserWarning, stacklevel=3)
        if new:
            self._client.log_batch(self.run_id, params=new)

    # ----- metrics ----------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        if self._client is None or not logs:
            return
        _, _, Metric, _ = _mlflow()
        now = int(time.time() * 1000)
        metrics = []
        for key, value in logs.items():
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(value) or math.isnan(value):
                metrics.append(Metric(_metric_key(key), value, now, int(epoch)))
        for start in range(0, len(metrics), 1000):  # MLflow's limit per batch
            self._client.log_batch(self.run_id, metrics=metrics[start:start + 1000])

    # ----- artifacts and end ------------------------------------------------------------------
    def on_train_end(self, logs=None):
        if self._client is None:
            return
        client = self._client
        try:
            if self.log_model and getattr(self.model, "built", False):
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, "model.kerasette")
                    self.model.save(path)
                    client.log_artifact(self.run_id, path, artifact_path="model")
            for path in self.checkpoint_files():
                client.log_artifact(self.run_id, path, artifact_path="checkpoints")
        finally:
            if self._owns_run:
                client.set_terminated(self.run_id, "FINISHED")
            self._client = None

    def checkpoint_files(self) -> list:
        """The existing files that `checkpoint` names (format fields such as {epoch:02d} match
        anything)."""
        if self.checkpoint is None:
            return []
        pattern = os.fspath(getattr(self.checkpoint, "filepath", self.checkpoint))
        pattern = re.sub(r"\{[^{}]*\}", "*", pattern)
        return sorted(p for p in glob.glob(pattern) if os.path.isfile(p))


def _loss_text(loss) -> str:
    """A loss, or a list / dict of them (several outputs), as text: names, "output=name" pairs."""
    if isinstance(loss, dict):
        return ",".join(f"{k}={_loss_text(v)}" for k, v in loss.items())
    if isinstance(loss, (list, tuple)):
        return ",".join(_loss_text(v) for v in loss)
    if loss is None or isinstance(loss, str):
        return str(loss)
    return getattr(loss, "name", None) or getattr(loss, "__name__", type(loss).__name__)


def _metric_key(key: str) -> str:
    """MLflow accepts letters, digits, _ - . space / and : in metric names; others become _."""
    return re.sub(r"[^\w\-. /:]", "_", str(key))
