"""A worker for tests/test_masking_graph.py: masked models trained and evaluated on 1 process or on
each rank of N.

    python mask_worker.py OUT_DIR            (under torchrun's variables: one rank of N)

Writes OUT_DIR/rank<r>.json: per case the final weights, the History and evaluate's results.
`run_cases()` is also imported by the test and run in one process, without distribution, as the
reference. Batches of 3 rows over 7 samples give unequal shares and, on 3 ranks, empty ones; the
padding differs from row to row, so each share holds a different number of real positions.
"""

import json
import os
import sys

import numpy as np
import torch

import kerasette as ks

TOKENS = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 0, 0], [6, 0, 0, 0, 0], [7, 8, 8, 8, 1],
                   [2, 2, 0, 4, 0], [5, 6, 7, 0, 0], [8, 0, 0, 0, 0]])


def tagger():
    """Per-step labels (a masked sequence output): sparse cross-entropy and accuracy."""
    ks.utils.set_random_seed(0)
    inp = ks.Input((5,), dtype="int64")
    h = ks.layers.Embedding(9, 4, mask_zero=True)(inp)
    h = ks.layers.LSTM(3, return_sequences=True)(h)
    model = ks.Model(inp, ks.layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=0.3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    labels = np.random.default_rng(1).integers(0, 3, TOKENS.shape)
    return model, labels


def reader():
    """One value per sequence: a masked average after a Bidirectional GRU, MSE."""
    ks.utils.set_random_seed(0)
    inp = ks.Input((5,), dtype="int64")
    h = ks.layers.Embedding(9, 4, mask_zero=True)(inp)
    h = ks.layers.Bidirectional(ks.layers.GRU(2, return_sequences=True))(h)
    model = ks.Model(inp, ks.layers.Dense(1)(ks.layers.GlobalAveragePooling1D()(h)))
    model.compile(optimizer=ks.optimizers.Adam(learning_rate=0.05), loss="mse")
    return model, np.random.default_rng(2).normal(size=(len(TOKENS), 1))


def run_cases() -> dict:
    ks.config.set_floatx("float64")
    out = {}
    for name, make in (("tagger", tagger), ("reader", reader)):
        model, y = make()
        history = model.fit(TOKENS, y, batch_size=3, epochs=3, shuffle=False, verbose=0)
        result = model.evaluate(TOKENS, y, batch_size=3, verbose=0)
        out[name] = {"weights": [w.tolist() for w in model.get_weights()],
                     "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
                     "evaluate": np.atleast_1d(result).tolist()}
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    result = run_cases()
    rank = int(os.environ.get("RANK", "0"))
    with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as f:
        json.dump(result, f)
