"""A worker for tests/test_distributed_eval.py: the same evaluate / predict / validation on 1 process
or on each rank of N.

    python eval_worker.py OUT_DIR            (under torchrun's variables: one rank of N)

Writes OUT_DIR/rank<r>.json: per case its result and the rows this rank's model ran in inference
(a counting layer). `run_cases()` is also imported by the test and run in one process, without
distribution, as the reference.
"""

import json
import os
import sys

import numpy as np
import torch

import kerasette as ks


class RowCounter(ks.layers.Layer):
    """Identity that counts the rows it sees outside training (evaluate, predict, validation)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rows = 0

    def forward(self, x, training=False):
        if not training:
            self.rows += (x[0] if isinstance(x, list) else x).shape[0]
        return x, lambda dy: dy


class BatchLogs(ks.callbacks.Callback):
    """Records the test batch logs and predict batch outputs it is given (a batch-log reader)."""

    def __init__(self):
        super().__init__()
        self.test, self.predict = [], []

    def on_test_batch_end(self, batch, logs=None):
        self.test.append(dict(logs))

    def on_predict_batch_end(self, batch, logs=None):
        out = logs["outputs"]
        self.predict.append(np.asarray(out).tolist())


def data(n, seed):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, 3))
    label = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float64")[:, None]
    value = x @ np.array([[0.3], [-1.0], [0.5]]) + 0.1 * g.normal(size=(n, 1))
    weight = g.uniform(0.0, 2.0, size=n)
    return x, label, value, weight


def sequential(activity=True):
    """Penalties (a kernel regularizer, ActivityRegularization) and plain / weighted metrics.

    fit's validation case leaves ActivityRegularization out: data-parallel TRAINING does not yet
    scale an add_loss value by the global batch (its gradient is the share's mean), so the trained
    weights, and hence the validation, would differ from one process's."""
    ks.utils.set_random_seed(1)
    counter = RowCounter()
    model = ks.Sequential([
        ks.Input((3,)), counter,
        ks.layers.Dense(8, activation="relu", kernel_regularizer=ks.regularizers.L2(0.01)),
        *([ks.layers.ActivityRegularization(l1=0.01)] if activity else []),
        ks.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy", "mae"],
                  weighted_metrics=["accuracy", "mse"])
    return model, counter


def two_outputs():
    """Two inputs, two outputs (dicts), loss weights, per-output metrics."""
    ks.utils.set_random_seed(2)
    counter = RowCounter()
    a, b = ks.Input((3,), name="a"), ks.Input((2,), name="b")
    h = ks.layers.Dense(6, activation="tanh")(counter(ks.layers.concatenate([a, b])))
    model = ks.Model({"a": a, "b": b}, {"label": ks.layers.Dense(1, activation="sigmoid")(h),
                                        "value": ks.layers.Dense(2)(h)})
    model.compile("adam", loss={"label": "binary_crossentropy", "value": "mse"},
                  loss_weights={"label": 1.0, "value": 0.5},
                  metrics={"label": ["accuracy"], "value": ["mae"]})
    return model, counter


def listed(value):
    if isinstance(value, dict):
        return {k: listed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [listed(v) for v in value]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return np.asarray(value).tolist()
    return float(value)


class Batches(ks.utils.PyDataset):
    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        s = slice(i * self.size, (i + 1) * self.size)
        return (self.x[s],) if self.y is None else (self.x[s], self.y[s])


def run_cases() -> dict:
    ks.config.set_floatx("float64")
    out = {}

    def record(name, counter, fn):
        before = counter.rows
        out[name] = {"value": listed(fn()), "rows": counter.rows - before}

    x, y, _, w = data(61, 0)
    model, counter = sequential()
    for size in (6, 7, 2, 1):  # equal shares (on 2 and 3 ranks), unequal, empty ones
        record(f"evaluate b{size}", counter, lambda s=size: model.evaluate(
            x[:60] if s == 6 else x, y[:60] if s == 6 else y,
            sample_weight=w[:60] if s == 6 else w, batch_size=s, verbose=0, return_dict=True))
    logs = BatchLogs()
    record("evaluate batch logs", counter, lambda: [model.evaluate(
        x, y, batch_size=7, verbose=0, callbacks=[logs], return_dict=True), logs.test])
    for size in (7, 2, 1):
        record(f"predict b{size}", counter, lambda s=size: model.predict(x, batch_size=s,
                                                                         verbose=0))
    record("predict tensor", counter, lambda: model.predict(torch.tensor(x[:5]), batch_size=4,
                                                            verbose=0))
    logs = BatchLogs()
    record("predict batch outputs", counter, lambda: [model.predict(
        x[:10], batch_size=4, verbose=0, callbacks=[logs]), logs.predict])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.tensor(x), torch.tensor(y)), batch_size=7)
    record("evaluate DataLoader", counter, lambda: model.evaluate(loader, verbose=0))
    record("evaluate generator", counter, lambda: model.evaluate(
        ((x[i:i + 5], y[i:i + 5]) for i in range(0, 61, 5)), verbose=0))
    record("predict PyDataset", counter, lambda: model.predict(Batches(x, None, 9), verbose=0))
    record("predict Dataset", counter, lambda: model.predict(
        torch.utils.data.TensorDataset(torch.tensor(x)), batch_size=8, verbose=0))

    model, counter = sequential(activity=False)
    xv, yv, _, wv = data(23, 1)
    record("fit validation", counter, lambda: model.fit(
        x, y, batch_size=7, epochs=3, verbose=0, validation_data=(xv, yv, wv),
        validation_batch_size=5, shuffle=False).history)

    model, counter = two_outputs()
    x2, label, value, w2 = data(61, 3)
    extra = np.random.default_rng(4).normal(size=(61, 2))
    values = np.concatenate([value, -value], axis=1)
    inputs = {"a": x2, "b": extra}
    for size in (7, 1):
        record(f"two outputs evaluate b{size}", counter, lambda s=size: model.evaluate(
            inputs, {"label": label, "value": values}, sample_weight=w2, batch_size=s,
            verbose=0, return_dict=True))
        record(f"two outputs predict b{size}", counter, lambda s=size: model.predict(
            inputs, batch_size=s, verbose=0))
    record("two outputs predict list", counter, lambda: model.predict([x2, extra], batch_size=10,
                                                                      verbose=0))
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    result = run_cases()
    rank = int(os.environ.get("RANK", "0"))
    with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as f:
        json.dump(result, f)
