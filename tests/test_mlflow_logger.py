"""ks.callbacks.MLflowLogger against real local tracking stores (a file store and SQLite), read back
through MLflow's client: runs, parameters, metric history, artifacts; no global MLflow state left."""

import os
import sys

import numpy as np
import pytest

import kerasette as ks
from kerasette.callbacks import MLflowLogger, ModelCheckpoint

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow.tracking._tracking_service import utils as tracking_utils  # noqa: E402

request_set_uri = [False]  # a test that sets the global URI itself says so here


@pytest.fixture(autouse=True)
def isolated_mlflow(tmp_path, monkeypatch):
    """Every test in its own folder, with MLflow's global URI and active run checked and reset."""
    monkeypatch.chdir(tmp_path)                  # a SQLite store puts artifacts in ./mlruns
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # MLflow 3.x refuses a file store ("maintenance mode") unless this opt-in is set
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    was_set = tracking_utils.is_tracking_uri_set()
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    if not was_set:
        set_here = request_set_uri[0]
        assert set_here or not tracking_utils.is_tracking_uri_set()  # the callback never set it
        mlflow.set_tracking_uri(None)
    request_set_uri[0] = False


def data(n=48, seed=0):
    rs = np.random.RandomState(seed)
    x = rs.randn(n, 3).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) > 0).astype("float32")
    return x, y


def net(seed=0):
    ks.utils.set_random_seed(seed)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(5, activation="tanh"),
                           ks.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=ks.optimizers.SGD(0.1, momentum=0.9), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def uris(tmp_path):
    return {"file": (tmp_path / "mlruns").as_uri(), "sqlite": "sqlite:///tmp.db"}


@pytest.mark.parametrize("store", ["file", "sqlite"])
def test_params_metrics_and_artifacts_read_back(tmp_path, store):
    uri = uris(tmp_path)[store]
    x, y = data()
    model = net()
    best = ModelCheckpoint(str(tmp_path / "ckpt" / "best.kerasette"), monitor="val_loss",
                           save_best_only=True)
    logger = MLflowLogger(tracking_uri=uri, experiment_name="tiny", run_name="first",
                          tags={"purpose": "test"}, checkpoint=best)
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[best, logger])

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tiny")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_id == logger.run_id
    assert run.info.run_name == "first" and run.info.status == "FINISHED"
    assert run.data.tags["purpose"] == "test"
    params = run.data.params
    assert params["epochs"] == "3" and params["steps_per_epoch"] == "3"
    assert params["optimizer"] == "SGD" and float(params["optimizer.learning_rate"]) == 0.1
    assert float(params["optimizer.momentum"]) == 0.9
    assert params["loss"] == "binary_crossentropy" and params["metrics"] == "accuracy"
    assert params["num_params"] == str(model.count_params())
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        series = client.get_metric_history(logger.run_id, key)
        assert [m.step for m in series] == [0, 1, 2]
        np.testing.assert_allclose([m.value for m in series], history.history[key], rtol=1e-6)

    names = {a.path for a in client.list_artifacts(logger.run_id)}
    assert names == {"model", "checkpoints"}
    (saved,) = client.list_artifacts(logger.run_id, "model")
    local = client.download_artifacts(logger.run_id, saved.path, str(tmp_path / "down"))
    restored = ks.models.load_model(local)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    (ckpt,) = client.list_artifacts(logger.run_id, "checkpoints")
    assert ckpt.path == "checkpoints/best.kerasette" and ckpt.file_size > 0


def test_logs_into_the_users_active_run_and_leaves_it_open(tmp_path):
    uri = (tmp_path / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    request_set_uri[0] = True
    x, y = data()
    with mlflow.start_run() as run:
        logger = MLflowLogger(log_model=False)
        net().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[logger])
        assert logger.run_id == run.info.run_id
        assert MlflowClient(uri).get_run(run.info.run_id).info.status == "RUNNING"
    history = MlflowClient(uri).get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1]


def test_a_second_fit_creates_a_second_run_and_run_id_reuses_one(tmp_path):
    uri = "sqlite:///tmp.db"
    x, y = data()
    model = net()
    logger = MLflowLogger(tracking_uri=uri, log_model=False)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    first = logger.run_id
    model.fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    assert logger.run_id != first
    again = MLflowLogger(tracking_uri=uri, run_id=first, log_model=False)
    with pytest.warns(UserWarning, match="epochs"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[again])  # epochs=1 was logged already
    client = MlflowClient(uri)
    assert len(client.get_metric_history(first, "loss")) == 3
    assert len(client.search_runs([client.get_experiment_by_name("Default").experiment_id])) == 2


@pytest.mark.parametrize("kwargs, arg", [
    ({"tracking_uri": 3}, "tracking_uri"), ({"tags": ["a"]}, "tags"),
    ({"log_model": "yes"}, "log_model"), ({"checkpoint": 5}, "checkpoint"),
])
def test_bad_arguments_name_the_argument(kwargs, arg):
    with pytest.raises(TypeError, match=arg):
        MLflowLogger(**kwargs)


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match=r"kerasette\[mlflow\]"):
        MLflowLogger()
    assert os.listdir(".") == []   # nothing written


def test_two_outputs_log_each_loss_and_metric():
    ks.utils.set_random_seed(0)
    inputs = ks.Input((3,))
    h = ks.layers.Dense(4, activation="tanh")(inputs)
    model = ks.Model(inputs, {"price": ks.layers.Dense(1)(h),
                              "label": ks.layers.Dense(1, activation="sigmoid")(h)})
    model.compile(optimizer="adam", loss={"price": "mse", "label": "binary_crossentropy"},
                  metrics={"label": ["accuracy"]})
    x, y = data()
    logger = MLflowLogger(tracking_uri="sqlite:///tmp.db", log_model=False)
    history = model.fit(x, {"price": y, "label": y}, epochs=2, verbose=0, callbacks=[logger])
    client = MlflowClient("sqlite:///tmp.db")
    params = client.get_run(logger.run_id).data.params
    assert params["loss"] == "price=mean_squared_error,label=binary_crossentropy"
    for key in history.history:
        assert [m.step for m in client.get_metric_history(logger.run_id, key)] == [0, 1]
