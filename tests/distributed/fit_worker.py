"""A worker for tests/test_distributed_fit.py: the same fit on 1 process or on each rank of N.

    python fit_worker.py OUT_DIR            (under torchrun's variables: one rank of N)

Writes OUT_DIR/rank<r>.json with the final weights, the History and the rows this rank trained on.
`run_cases()` is also imported by the test and run in one process, without distribution, as the
reference.
"""

import json
import os
import sys

import numpy as np
import torch

import kerasette as ks


class RowCounter(ks.layers.Layer):
    """Identity that counts the rows it sees in training (each rank's share)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rows = 0

    def forward(self, x, training=False):
        if training:
            self.rows += x.shape[0]
        return x, lambda dy: dy


def data(n=61, seed=0):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, 3))
    y_label = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float64")[:, None]
    y_value = (x @ np.array([[0.3], [-1.0], [0.5]]) + 0.1 * g.normal(size=(n, 1)))
    return x, y_label, y_value


def sequential_case(log_dir=None):
    """Dropout, class weights, a validation split, SGD with momentum, unequal shares (batch 7)."""
    ks.utils.set_random_seed(1)
    counter = RowCounter()
    model = ks.Sequential([ks.Input((3,)), counter, ks.layers.Dense(8, activation="relu"),
                           ks.layers.Dropout(0.3, seed=5), ks.layers.Dense(1, activation="sigmoid")])
    model.compile(ks.optimizers.SGD(0.1, momentum=0.9), "binary_crossentropy",
                  metrics=["accuracy"])
    x, y, _ = data()
    callbacks = [ks.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.02)]
    if log_dir is not None:  # a writer: only rank 0's file may appear
        rank = os.environ.get("RANK", "0")
        callbacks.append(ks.callbacks.CSVLogger(os.path.join(log_dir, f"log_rank{rank}.csv")))
    history = model.fit(x, y, batch_size=7, epochs=12, validation_split=0.2, verbose=0,
                        class_weight={0: 1.0, 1: 2.0}, callbacks=callbacks)
    return model, history, counter.rows


def functional_case():
    """A two-output functional model with loss weights and Adam."""
    ks.utils.set_random_seed(2)
    inputs = ks.Input((3,), name="features")
    h = ks.layers.Dense(6, activation="tanh")(inputs)
    h = h + ks.layers.Dense(6)(h)
    model = ks.Model(inputs, {"label": ks.layers.Dense(1, activation="sigmoid")(h),
                              "value": ks.layers.Dense(1)(h)})
    model.compile("adam", loss={"label": "binary_crossentropy", "value": "mse"},
                  loss_weights={"label": 1.0, "value": 0.5}, metrics={"value": ["mae"]})
    x, y_label, y_value = data(seed=3)
    history = model.fit(x, {"label": y_label, "value": y_value}, batch_size=10, epochs=4,
                        verbose=0)
    return model, history, None


def tiny_batches_case():
    """batch_size=1: every rank but one has an empty share at every step (metrics must agree)."""
    ks.utils.set_random_seed(4)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    x, y, _ = data(n=6, seed=5)
    return model, model.fit(x, y, batch_size=1, epochs=2, verbose=0), None


def activity_case():
    """An activity penalty (add_loss, data-dependent) and a weight penalty, unequal shares: each
    rank's penalty is its part of the global batch's, and the logged loss sums them."""
    ks.utils.set_random_seed(6)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(5, activation="relu"),
                           ks.layers.ActivityRegularization(l1=0.01, l2=0.05),
                           ks.layers.Dense(1, kernel_regularizer=ks.regularizers.L2(0.01))])
    model.compile(ks.optimizers.SGD(0.05), "mse")
    x, _, y = data(n=40, seed=6)
    return model, model.fit(x, y, batch_size=7, epochs=3, verbose=0), None


def drifted_replicas_case():
    """A second fit after the replicas drifted apart (other ranks' weights and Adam state changed,
    as after loading them on rank 0 only): fit starts from rank 0's weights and optimizer state."""
    ks.utils.set_random_seed(7)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(4, activation="tanh"),
                           ks.layers.Dense(1)])
    model.compile(ks.optimizers.Adam(0.01), "mse")
    x, _, y = data(n=30, seed=7)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    if int(os.environ.get("RANK", "0")) > 0:
        model.set_weights([w + 0.5 for w in model.get_weights()])
        model.optimizer.iterations = 0
        model.optimizer.learning_rate = 0.3
        for slot in model.optimizer._slots.values():
            slot.zero_()
    return model, model.fit(x, y, batch_size=8, epochs=2, verbose=0), None


def shuffled_loader_case():
    """A DataLoader(shuffle=True) with each rank's torch seeded differently: fit starts every rank
    from rank 0's default generator, so the ranks read the same batches, in one process's order."""
    ks.utils.set_random_seed(8)
    torch.manual_seed(100 + int(os.environ.get("RANK", "0")))
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(1)])
    model.compile(ks.optimizers.SGD(0.05), "mse")
    x, _, y = data(n=20, seed=8)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.from_numpy(x), torch.from_numpy(y)), batch_size=6, shuffle=True)
    return model, model.fit(loader, epochs=3, verbose=0), None


def per_rank_data_error():
    """Each rank passes its own data (as for a DDP loop): every rank refuses at the first step, with
    the same error, before any weight changes. In one process: no error."""
    ks.utils.set_random_seed(9)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(1)])
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    x, _, y = data(n=12, seed=10 + int(os.environ.get("RANK", "0")))
    try:
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    except ValueError as error:
        unchanged = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
        return {"error": str(error), "weights unchanged": unchanged}
    return {"error": None}


def run_cases(log_dir=None) -> dict:
    ks.config.set_floatx("float64")
    out = {}
    for name, case in (("sequential", lambda: sequential_case(log_dir)),
                       ("functional", functional_case), ("tiny batches", tiny_batches_case),
                       ("activity", activity_case), ("drifted replicas", drifted_replicas_case),
                       ("shuffled loader", shuffled_loader_case)):
        model, history, rows = case()
        out[name] = {"weights": [w.tolist() for w in model.get_weights()],
                     "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
                     "rows": rows}
    out["per-rank data"] = per_rank_data_error()
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    result = run_cases(log_dir=sys.argv[1])
    rank = int(os.environ.get("RANK", "0"))
    with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as f:
        json.dump(result, f)
