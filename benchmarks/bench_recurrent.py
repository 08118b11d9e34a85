"""Recurrent nets: kerasette's `fit` against the same net in torch.nn (cuDNN-style fused LSTM / GRU
modules) + autograd + torch.optim.SGD, one thread, side by side in one process.

    python benchmarks/bench_recurrent.py             # 5 rounds
    python benchmarks/bench_recurrent.py --rounds 11

The net: 32 steps x 16 features -> LSTM(64) or GRU(64) -> Dense(1), MSE, SGD lr 0.01, batch 64,
2048 sequences, one epoch per timed run (32 steps). Both start from the same weights (Keras's
layout mapped to torch's: W^T, U^T, the gate blocks reordered for GRU's r z n) and see the same
batches. The report gives medians and the median of per-round ratios.
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import alternate, paired_ratio, report  # noqa: E402

N, T, F, UNITS, BATCH, LR = 2048, 32, 16, 64, 64, 0.01


def data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, T, F, generator=g), torch.randn(N, 1, generator=g)


def kerasette_run(kind, x, y, weights):
    import kerasette as ks

    ks.utils.set_random_seed(0)
    model = ks.Sequential([ks.Input((T, F)), getattr(ks.layers, kind)(UNITS), ks.layers.Dense(1)])
    model.compile(optimizer=ks.optimizers.SGD(LR), loss="mse")
    model.set_weights([w.numpy() for w in weights])
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    return model


def torch_nn_run(kind, x, y, weights):
    nn = torch.nn
    W, U, b, V, c = weights
    u = UNITS
    rnn = getattr(nn, kind)(F, u, batch_first=True)
    head = nn.Linear(u, 1)
    with torch.no_grad():
        if kind == "LSTM":  # same gate order i f (c=g) o
            rnn.weight_ih_l0.copy_(W.T)
            rnn.weight_hh_l0.copy_(U.T)
            rnn.bias_ih_l0.copy_(b)
            rnn.bias_hh_l0.zero_()
        else:  # Keras z r h -> torch r z n; torch's n gate is Keras's reset_after form
            perm = torch.cat([torch.arange(u, 2 * u), torch.arange(0, u), torch.arange(2 * u, 3 * u)])
            rnn.weight_ih_l0.copy_(W.T[perm])
            rnn.weight_hh_l0.copy_(U.T[perm])
            rnn.bias_ih_l0.copy_(b[0][perm])
            rnn.bias_hh_l0.copy_(b[1][perm])
        head.weight.copy_(V.T)
        head.bias.copy_(c)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=LR, foreach=True)
    for start in range(0, N, BATCH):
        xb, yb = x[start:start + BATCH], y[start:start + BATCH]
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(xb)
        loss = ((head(out[:, -1]) - yb) ** 2).mean()
        loss.backward()
        opt.step()
    return head


def initial_weights(kind):
    import kerasette as ks

    ks.utils.set_random_seed(1)
    model = ks.Sequential([ks.Input((T, F)), getattr(ks.layers, kind)(UNITS), ks.layers.Dense(1)])
    return [torch.as_tensor(w) for w in model.get_weights()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = data()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); {T} steps x {F} "
          f"features, {UNITS} units, batch {BATCH}, {N} sequences, one epoch per run")
    for kind in ("LSTM", "GRU"):
        weights = initial_weights(kind)
        times = alternate({"kerasette fit": lambda k=kind, w=weights: kerasette_run(k, x, y, w),
                           "torch.nn loop": lambda k=kind, w=weights: torch_nn_run(k, x, y, w)},
                          args.rounds)
        print(f"\n{kind}({UNITS})")
        report(times, "torch.nn loop")
        print(f"kerasette fit / torch.nn loop = "
              f"{paired_ratio(times, 'kerasette fit', 'torch.nn loop'):.2f} (paired median)")


if __name__ == "__main__":
    main()
