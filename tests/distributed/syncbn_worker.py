"""A worker for tests/test_distributed_syncbn.py: BatchNormalization(synchronized=True) on 1 or N ranks.

    python syncbn_worker.py OUT_DIR            (under torchrun's variables: one rank of N)

Writes OUT_DIR/rank<r>.json. `run_cases()` is also imported by the test and run in one process,
without distribution, as the reference. `tiny_batches_case` ends each epoch with a global batch of
one row, so on 2 or 3 ranks some shares are empty (the trainer runs them: 0 rows through forward
and backward); `layer_case` calls the layer by hand on empty shares too.
"""

import json
import os
import sys

import numpy as np
import torch

import kerasette as ks
from kerasette.distribution import share


def data(n, shape, seed):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, *shape)) * 2.0 + 0.5
    y = (x.reshape(n, -1).sum(1, keepdims=True) > 0.5 * shape[-1]).astype("float64")
    return x, y


def dense_case(synchronized=True):
    """Dense -> BN -> Dense, SGD with momentum, batch 7 over 40 rows (7, 7, 7, 7, 7, 5)."""
    ks.utils.set_random_seed(3)
    model = ks.Sequential([ks.Input((4,)), ks.layers.Dense(5),
                           ks.layers.BatchNormalization(momentum=0.8, synchronized=synchronized),
                           ks.layers.Activation("relu"), ks.layers.Dense(1, activation="sigmoid")])
    model.compile(ks.optimizers.SGD(0.05, momentum=0.9), "binary_crossentropy",
                  metrics=["accuracy"])
    x, y = data(40, (4,), seed=1)
    return model, model.fit(x, y, batch_size=7, epochs=3, verbose=0)


def tiny_batches_case():
    """Dense -> BN -> Dense, Adam, batch 4 over 9 rows (4, 4, 1): the last global batch leaves every
    rank but one with an empty share."""
    ks.utils.set_random_seed(6)
    model = ks.Sequential([ks.Input((3,)), ks.layers.Dense(4),
                           ks.layers.BatchNormalization(momentum=0.7, synchronized=True),
                           ks.layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    x, y = data(9, (3,), seed=3)
    return model, model.fit(x, y, batch_size=4, epochs=3, verbose=0)


def conv_case():
    """Conv2D -> BN (channels last) -> Flatten -> Dense, Adam, batch 7 over 24 rows."""
    ks.utils.set_random_seed(4)
    model = ks.Sequential([ks.Input((5, 5, 2)), ks.layers.Conv2D(3, 3),
                           ks.layers.BatchNormalization(synchronized=True),
                           ks.layers.Flatten(), ks.layers.Dense(1)])
    model.compile("adam", "mse")
    x, y = data(24, (5, 5, 2), seed=2)
    return model, model.fit(x, y, batch_size=7, epochs=2, verbose=0)


def layer_case(world_size, rank, strategy):
    """The layer called by hand on global batches of 5, 2 and 1 rows (empty shares on some ranks),
    with a trainer that promises to run empty shares: this rank's rows of y and dx, its part of
    dgamma / dbeta and the moving statistics after each call."""
    ks.utils.set_random_seed(5)
    layer = ks.layers.BatchNormalization(momentum=0.5, synchronized=True)
    layer.build((None, 3))
    g = torch.Generator().manual_seed(7)
    layer.gamma.assign(torch.randn(3, generator=g, dtype=torch.float64))
    layer.beta.assign(torch.randn(3, generator=g, dtype=torch.float64))
    out = []
    for n in (5, 2, 1):
        x = torch.randn(n, 3, generator=g, dtype=torch.float64) * 3 + 1
        dy = torch.randn(n, 3, generator=g, dtype=torch.float64)
        lo, hi = strategy.shard_bounds(n) if strategy is not None else (0, n)
        for w in layer.trainable_weights:
            w.grad.zero_()
        with share.global_batch(lo, hi, n, strategy=strategy, empty_shares_run=True):
            y, backward = layer.forward(x[lo:hi], training=True)
            dx = backward(dy[lo:hi])
        out.append({"y": y.tolist(), "dx": dx.tolist(),
                    "dgamma": layer.gamma.grad.tolist(), "dbeta": layer.beta.grad.tolist(),
                    "moving": [layer.moving_mean.value.tolist(),
                               layer.moving_variance.value.tolist()]})
    refused = None
    if strategy is not None and strategy.shard_bounds(1) == (0, 1):  # the rank holding the row
        with share.global_batch(0, 1, 1, strategy=strategy, empty_shares_run=False):
            try:
                layer.forward(torch.ones(1, 3, dtype=torch.float64), training=True)
            except RuntimeError as error:
                refused = str(error)
    return out, refused


def report(model, history) -> dict:
    bn = [layer for layer in model.layers if isinstance(layer, ks.layers.BatchNormalization)][0]
    return {"weights": [w.tolist() for w in model.get_weights()],
            "moving": [bn.moving_mean.value.tolist(), bn.moving_variance.value.tolist()],
            "history": {k: [float(v) for v in vs] for k, vs in history.history.items()}}


def run_cases(strategy=None) -> dict:
    ks.config.set_floatx("float64")
    out = {name: report(*case()) for name, case in (
        ("dense", dense_case), ("conv", conv_case), ("tiny batches", tiny_batches_case),
        ("unsynchronized", lambda: dense_case(synchronized=False)))}
    world_size = strategy.world_size if strategy is not None else 1
    rank = strategy.rank if strategy is not None else 0
    out["layer"], out["refused"] = layer_case(world_size, rank, strategy)
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    ks.config.set_floatx("float64")
    strategy = ks.distribution.distribution().connect("cpu")
    result = run_cases(strategy)
    with open(os.path.join(sys.argv[1], f"rank{strategy.rank}.json"), "w") as f:
        json.dump(result, f)
