"""kerasette's `fit` against a lean hand-written loop and a torch.nn loop (DESIGN.md §3).

    python benchmarks/bench_fit.py            # seeds' task + compute-bound net
    python benchmarks/bench_fit.py --quick    # fewer rounds
    python benchmarks/bench_fit.py --threads 0   # torch's default thread count (1 by default here)
    python benchmarks/bench_fit.py --only compute --rounds 30   # one task, more rounds

1. The seeds' task exactly as DESIGN.md states it: 1000 points, MLP 2-25-25-25-2 (ReLU), MSE,
   SGD lr 0.1, batch 10, 50 epochs (5000 steps), `verbose=0`. Contenders run alternately in one
   process; medians and ratios are printed. Targets: kerasette within 1.10x of the lean loop, and
   at least 2.5x faster than the torch.nn loop. Also with History + EarlyStopping + a verbose=2 logger.
   The same net written with the functional API must cost the same as its Sequential twin.
2. A compute-bound net, 784-512-512-512, batch 128: time of a 3-epoch run against the floor (the
   step's matmuls and one SGD pass, `common.floor_loop`) and against the tuned lean loop (the floor
   plus only the work this training needs and the floor omits), and peak memory (the high-water mark of
   resident memory during the run, in a fresh process per contender).

Every contender initialises its parameters once inside its timed run, and all start from the same
values (`common.starting_weights`). On this shared 2-core machine single runs vary by several per
cent, so contenders alternate and the targets use the median of per-round ratios.
"""

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import (  # noqa: E402
    alternate,
    disk_data,
    floor_loop,
    kerasette_fit,
    lean_loop,
    paired_ratio,
    paired_spread,
    report,
    starting_weights,
    torch_nn_loop,
)

SEED_SIZES = [2, 25, 25, 25, 2]
BIG_SIZES = [784, 512, 512, 512]
BIG_EPOCHS = 3  # per timed run: model creation and data checks are paid once per run


def seeds_task(rounds):
    import kerasette as ks

    x, y = disk_data(1000, seed=0)
    run = dict(x=x, y=y, sizes=SEED_SIZES, epochs=50, batch_size=10, lr=0.1)
    start = starting_weights(SEED_SIZES)

    def with_callbacks():
        cbs = [ks.callbacks.EarlyStopping(monitor="loss", patience=100)]
        with contextlib.redirect_stdout(io.StringIO()):
            kerasette_fit(**run, start=start, callbacks=cbs, verbose=2)

    print("Seeds' task: 2-25-25-25-2, MSE, SGD lr 0.1, batch 10, 50 epochs (5000 steps)")
    times = alternate({
        "lean loop": lambda: lean_loop(**run),
        "kerasette fit": lambda: kerasette_fit(**run, start=start),
        "kerasette fit, functional": lambda: kerasette_fit(**run, start=start, functional=True),
        "kerasette fit + callbacks": with_callbacks,
        "torch.nn loop": lambda: torch_nn_loop(**run, start=start),
    }, rounds)
    report(times, "lean loop")
    fit = paired_ratio(times, "kerasette fit", "lean loop")
    with_cbs = paired_ratio(times, "kerasette fit + callbacks", "lean loop")
    torch_nn = paired_ratio(times, "torch.nn loop", "kerasette fit")
    functional = paired_ratio(times, "kerasette fit, functional", "kerasette fit")
    print(f"targets (paired): fit / lean loop = {fit:.2f} (<= 1.10; quartiles of the rounds "
          f"{paired_spread(times, 'kerasette fit', 'lean loop')}), with callbacks {with_cbs:.2f} "
          f"(<= 1.25), torch.nn loop / fit = {torch_nn:.2f} (>= 2.5), functional / Sequential "
          f"= {functional:.2f} (<= 1.05)")
    return times


def big_data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4096, 784, generator=g), torch.randn(4096, 512, generator=g)


def big_run(name):
    x, y = big_data()
    kw = dict(x=x, y=y, sizes=BIG_SIZES, epochs=BIG_EPOCHS, batch_size=128, lr=0.01)
    start = starting_weights(BIG_SIZES)
    return {"floor": lambda: floor_loop(**kw), "lean loop": lambda: lean_loop(**kw),
            "tuned lean loop": lambda: lean_loop(**kw, tuned=True),
            "kerasette fit": lambda: kerasette_fit(**kw, start=start),
            "torch.nn loop": lambda: torch_nn_loop(**kw, start=start)}[name]


def _proc_kib(key):
    with open("/proc/self/status") as f:
        return int(re.search(rf"{key}:\s+(\d+)", f.read()).group(1))


def peak_memory_child(name):
    """Run in a fresh process: peak RSS growth (MiB) over one run of `name`, model creation included.

    Linux's high-water mark VmHWM is reset (write 5 to /proc/self/clear_refs) after imports and data
    creation, so the figure is the peak of the run itself minus the resident size before it.
    """
    fn = big_run(name)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _proc_kib("VmRSS")
    fn()
    print(json.dumps({"peak_mib": (_proc_kib("VmHWM") - before) / 1024}))


def compute_bound(rounds):
    print(f"\nCompute-bound net: 784-512-512-512, batch 128, 4096 samples, {BIG_EPOCHS} epochs per run")
    times = alternate({name: big_run(name) for name in
                       ("floor", "lean loop", "tuned lean loop", "kerasette fit", "torch.nn loop")},
                      rounds)
    report(times, "torch.nn loop")
    print(f"target (paired): fit / floor = {paired_ratio(times, 'kerasette fit', 'floor'):.2f} "
          f"(<= 1.10; quartiles of the rounds {paired_spread(times, 'kerasette fit', 'floor')}); "
          f"torch.nn loop / floor = {paired_ratio(times, 'torch.nn loop', 'floor'):.2f}")
    print(f"the floor plus only the work it omits (tuned lean loop) / floor = "
          f"{paired_ratio(times, 'tuned lean loop', 'floor'):.2f}; fit / tuned lean loop = "
          f"{paired_ratio(times, 'kerasette fit', 'tuned lean loop'):.2f}")
    print("\npeak memory added by one run (resident high-water mark, fresh process each):")
    for name in ("lean loop", "kerasette fit", "torch.nn loop"):
        out = subprocess.run([sys.executable, __file__, "--memory-child", name],
                             capture_output=True, text=True, check=True).stdout
        print(f"  {name:<16}{json.loads(out.strip().splitlines()[-1])['peak_mib']:>8.1f} MiB")
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=9,
                        help="alternating rounds per task (default 9; --quick: 3); on a noisy shared "
                             "machine more rounds narrow the quartiles printed with each target")
    parser.add_argument("--only", choices=("seeds", "compute"),
                        help="run one of the two tasks")
    parser.add_argument("--memory-child")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for every contender (default 1; 0 = torch's "
                             "choice, which on a shared 2-core machine mostly adds noise at these sizes)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        peak_memory_child(args.memory_child)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rounds = 3 if args.quick else args.rounds
    if args.only != "compute":
        seeds_task(rounds)
    if args.only != "seeds":
        compute_bound(rounds)


if __name__ == "__main__":
    main()
