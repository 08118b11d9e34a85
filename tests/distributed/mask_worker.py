"""A worker for tests/test_masking_graph.py: a masked model under a real distribution is refused.

    python mask_worker.py OUT_DIR            (under torchrun's variables: one rank of N)

Writes OUT_DIR/rank<r>.json: the error fit and evaluate raised (or None) and whether the weights
stayed as they were.
"""

import json
import os
import sys

import numpy as np
import torch

import kerasette as ks


def run() -> dict:
    ks.utils.set_random_seed(0)
    inp = ks.Input((5,), dtype="int64")
    h = ks.layers.Embedding(9, 3, mask_zero=True)(inp)
    model = ks.Model(inp, ks.layers.Dense(1)(ks.layers.GlobalAveragePooling1D()(h)))
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 0, 0], [6, 0, 0, 0, 0], [7, 8, 8, 8, 1]])
    y = np.zeros((4, 1))
    before = [w.copy() for w in model.get_weights()]
    out = {}
    for name, call in (("fit", lambda: model.fit(x, y, verbose=0)),
                       ("evaluate", lambda: model.evaluate(x, y, verbose=0))):
        try:
            call()
            out[name] = None
        except ValueError as e:
            out[name] = str(e)
    out["weights unchanged"] = all(np.array_equal(a, b)
                                   for a, b in zip(before, model.get_weights()))
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    result = run()
    rank = int(os.environ.get("RANK", "0"))
    with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as f:
        json.dump(result, f)
