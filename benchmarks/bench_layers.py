"""Convolution nets: kerasette's `fit` against the same net in torch.nn + autograd + torch.optim, and
against Keras 3 on its torch backend when it is installed (issue 12, DESIGN.md §3).

    python benchmarks/bench_layers.py              # one thread (the default), both nets
    python benchmarks/bench_layers.py --threads 0  # torch's default thread count
    python benchmarks/bench_layers.py --quick      # fewer rounds

1. The CNN of the issue: 28x28x1 -> Conv2D(32, 3, relu) -> MaxPooling2D -> Conv2D(64, 3, relu) ->
   MaxPooling2D -> GlobalAveragePooling2D -> Dense(10), sparse categorical cross-entropy on logits,
   SGD lr 0.01, batch 64, 2048 synthetic images, 1 epoch per timed run (32 steps).
2. A Conv1D net: 128 steps x 8 channels -> Conv1D(32, 5, relu) -> MaxPooling1D -> Conv1D(64, 5,
   relu) -> GlobalAveragePooling1D -> Dense(4), same loss and optimizer, batch 64, 2048 series.

Every contender starts from the same weights and sees the same batches. kerasette gets Keras's
channels_last arrays (N, H, W, C); the torch.nn loop gets the (N, C, H, W) arrays a torch user has.
Contenders run alternately in one process, `rounds` times; the report gives medians and the median
of per-round ratios (steadier on a shared machine), for wall time and for the process's CPU time
(user + system: with one thread, the CPU time is what the run cost, and it barely moves when other
processes compete for the cores, as they do on this shared machine). Peak memory is the growth of the resident
high-water mark over one run, in a fresh process per contender (model creation included).
Target: kerasette's fit at most 1.0x the torch.nn loop's time (one thread), and no more memory.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import paired_ratio, report  # noqa: E402

N_SAMPLES, BATCH, LR, EPOCHS = 2048, 64, 0.01, 1


# ----- the two nets, as kerasette layers and as torch.nn modules ----------------------------------
def data(kind, seed=0):
    g = torch.Generator().manual_seed(seed)
    if kind == "cnn":
        x = torch.randn(N_SAMPLES, 28, 28, 1, generator=g)
        y = torch.randint(0, 10, (N_SAMPLES,), generator=g)
    else:
        x = torch.randn(N_SAMPLES, 128, 8, generator=g)
        y = torch.randint(0, 4, (N_SAMPLES,), generator=g)
    return x, y


def kerasette_model(kind):
    import kerasette as ks

    L = ks.layers
    if kind == "cnn":
        layers = [ks.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                  L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
                  L.GlobalAveragePooling2D(), L.Dense(10)]
    else:
        layers = [ks.Input((128, 8)), L.Conv1D(32, 5, activation="relu"), L.MaxPooling1D(),
                  L.Conv1D(64, 5, activation="relu"), L.GlobalAveragePooling1D(), L.Dense(4)]
    model = ks.Sequential(layers)
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=LR),
                  loss=ks.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def initial_weights(kind):
    """Keras-layout weights, drawn once by kerasette's initialisers (seed 0)."""
    import kerasette as ks

    ks.utils.set_random_seed(0)
    return kerasette_model(kind).get_weights()


def torch_module(kind, weights):
    """The same net in torch.nn, its weights copied from Keras's layout."""
    nn = torch.nn
    if kind == "cnn":
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                            nn.ReLU(), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                            nn.Linear(64, 10))
        convs = [net[0], net[3]]
        perm = (3, 2, 0, 1)
    else:
        net = nn.Sequential(nn.Conv1d(8, 32, 5), nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(32, 64, 5),
                            nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, 4))
        convs = [net[0], net[3]]
        perm = (2, 1, 0)
    dense = net[-1]
    with torch.no_grad():
        for conv, (k, b) in zip(convs, zip(weights[0:4:2], weights[1:4:2])):
            conv.weight.copy_(torch.as_tensor(k).permute(*perm))
            conv.bias.copy_(torch.as_tensor(b))
        dense.weight.copy_(torch.as_tensor(weights[4]).T)
        dense.bias.copy_(torch.as_tensor(weights[5]))
    return net


# ----- contenders ---------------------------------------------------------------------------------
def run_kerasette(kind, x, y, weights):
    model = kerasette_model(kind)
    model.set_weights(weights)
    model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    return model


def run_torch_nn(kind, x_torch, y, weights):
    net = torch_module(kind, weights)
    opt = torch.optim.SGD(net.parameters(), lr=LR, foreach=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    n = x_torch.shape[0]
    for _ in range(EPOCHS):
        perm = torch.randperm(n, generator=gen)
        xs, ys = x_torch[perm], y[perm]
        loss_sum = torch.zeros(())
        for start in range(0, n, BATCH):
            xb, yb = xs[start:start + BATCH], ys[start:start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            loss_sum.add_(loss.detach(), alpha=xb.shape[0])
        float(loss_sum)
    return net


def make_keras(kind):
    """Keras 3 on its torch backend, or None when it cannot be imported."""
    os.environ["KERAS_BACKEND"] = "torch"  # must precede the first `import keras`
    try:
        import keras
    except ImportError:
        return None
    if keras.backend.backend() != "torch":
        return None

    def run(x, y, weights):
        L = keras.layers
        if kind == "cnn":
            layers = [keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"),
                      L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
                      L.GlobalAveragePooling2D(), L.Dense(10)]
        else:
            layers = [keras.Input((128, 8)), L.Conv1D(32, 5, activation="relu"),
                      L.MaxPooling1D(), L.Conv1D(64, 5, activation="relu"),
                      L.GlobalAveragePooling1D(), L.Dense(4)]
        model = keras.Sequential(layers)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=LR),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.set_weights(weights)
        model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0)
        return model
    return f"Keras {keras.__version__} (torch backend)", run


def contenders(kind, with_keras=True):
    x, y = data(kind)
    weights = initial_weights(kind)
    x_torch = x.movedim(-1, 1).contiguous()   # what a torch user feeds: channels first
    out = {"kerasette fit": lambda: run_kerasette(kind, x, y, weights),
           "torch.nn loop": lambda: run_torch_nn(kind, x_torch, y, weights)}
    keras_run = make_keras(kind) if with_keras else None
    if keras_run is not None:
        x_np, y_np = x.numpy(), y.numpy()
        out[keras_run[0]] = lambda: keras_run[1](x_np, y_np, weights)
    return out


# ----- memory ---------------------------------------------------------------------------------------
def _proc_kib(key):
    with open("/proc/self/status") as f:
        return int(re.search(rf"{key}:\s+(\d+)", f.read()).group(1))


def peak_memory_child(kind, name):
    """In a fresh process: peak RSS growth (MiB) over one run (see bench_fit.py)."""
    fn = contenders(kind, with_keras=name.startswith("Keras"))[name]
    fn()  # warm-up: one-off allocations (thread pools, kernels' workspaces) are not the run's
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _proc_kib("VmRSS")
    fn()
    print(json.dumps({"peak_mib": (_proc_kib("VmHWM") - before) / 1024}))


def bench(kind, rounds, threads):
    title = {"cnn": "CNN 28x28x1 -> Conv2D(32) -> pool -> Conv2D(64) -> pool -> GAP -> Dense(10)",
             "conv1d": "Conv1D net 128x8 -> Conv1D(32, 5) -> pool -> Conv1D(64, 5) -> GAP -> "
                       "Dense(4)"}[kind]
    print(f"\n{title}; batch {BATCH}, {N_SAMPLES} samples, {EPOCHS} epoch per run")
    runs = contenders(kind)
    for fn in runs.values():  # warm-up round, not timed
        fn()
    wall, cpu = alternate_wall_cpu(runs, rounds)
    print("wall time:")
    report(wall, "torch.nn loop")
    print("CPU time (user + system):")
    report(cpu, "torch.nn loop")
    ratios = [paired_ratio(t, "kerasette fit", "torch.nn loop") for t in (wall, cpu)]
    print(f"target (paired): kerasette fit / torch.nn loop = {ratios[0]:.2f} wall, "
          f"{ratios[1]:.2f} CPU (<= 1.0)")
    print(f"peak memory added by one run (resident high-water mark, fresh process each, median of "
          f"{MEMORY_REPEATS}):")
    for name in runs:
        peaks = []
        for _ in range(MEMORY_REPEATS):
            out = subprocess.run([sys.executable, __file__, "--memory-child", kind, name,
                                  "--threads", str(threads)], capture_output=True, text=True)
            if out.returncode:
                print(f"  {name:<36} failed: {out.stderr.strip().splitlines()[-1:]}")
                break
            peaks.append(json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"])
        if peaks:
            print(f"  {name:<36}{statistics.median(peaks):>8.1f} MiB  (runs: "
                  + ", ".join(f"{p:.1f}" for p in peaks) + ")")
    return wall, cpu


MEMORY_REPEATS = 3


def alternate_wall_cpu(contenders: dict, rounds: int):
    """Like common.alternate, timing each run by wall clock and by process CPU time."""
    wall = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    return wall, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1; 0 = torch's choice)")
    parser.add_argument("--only", choices=["cnn", "conv1d"])
    parser.add_argument("--memory-child", nargs=2)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        peak_memory_child(*args.memory_child)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for kind in ["cnn", "conv1d"] if args.only is None else [args.only]:
        bench(kind, 3 if args.quick else 7, args.threads)


if __name__ == "__main__":
    main()
