"""Time one optimizer step: kerasette's flat path, its per-weight twin, torch.optim (foreach=True).

    python benchmarks/bench_optimizers.py [--rounds 7] [--steps 300] [--threads 1,0]
                                          [--dtype float32] [--only Adam,SGD]

Nets (parameter shapes only, random gradients): the seeds' MLP 2-25-25-25-2 (1,427 parameters in 8
tensors) and a 784-512-512-10 MLP (669,706 parameters in 6 tensors). Each round runs every contender
for `steps` steps in turn (alternating, so drifts in machine load hit all of them alike); the table
gives the median over rounds of the mean time per step, in microseconds, and ratios to torch.optim.
`--threads 0` means torch's default thread count. `--clock cpu` measures this process's CPU time
instead of wall time: steadier on a machine shared with other jobs when single-threaded (with
several threads it adds up their times).
"""

import argparse
import statistics
import time

import torch

import kerasette as ks
from kerasette.layers.base import Weight

NETS = {"2-25-25-25-2": [2, 25, 25, 25, 2], "784-512-512-10": [784, 512, 512, 10]}

# (label, kerasette factory, torch.optim factory); hyperparameters matched where conventions allow.
OPTIMIZERS = [
    ("SGD", lambda: ks.optimizers.SGD(0.01), lambda p: torch.optim.SGD(p, 0.01, foreach=True)),
    ("SGD m=0.9", lambda: ks.optimizers.SGD(0.01, momentum=0.9),
     lambda p: torch.optim.SGD(p, 0.01, momentum=0.9, foreach=True)),
    ("Adam", lambda: ks.optimizers.Adam(), lambda p: torch.optim.Adam(p, 1e-3, foreach=True)),
    ("AdamW", lambda: ks.optimizers.AdamW(),
     lambda p: torch.optim.AdamW(p, 1e-3, weight_decay=0.004, foreach=True)),
    ("RMSprop", lambda: ks.optimizers.RMSprop(),
     lambda p: torch.optim.RMSprop(p, 1e-3, alpha=0.9, foreach=True)),
    ("Adagrad", lambda: ks.optimizers.Adagrad(),
     lambda p: torch.optim.Adagrad(p, 1e-3, initial_accumulator_value=0.1, foreach=True)),
]


def shapes(units):
    """Dense kernels (in, out) and biases (out,), Keras's layout."""
    out = []
    for a, b in zip(units, units[1:]):
        out += [(a, b), (b,)]
    return out


def make_contenders(net, make_ks, make_torch, dtype):
    gen = torch.Generator().manual_seed(0)
    values = [torch.randn(s, generator=gen, dtype=dtype) * 0.1 for s in shapes(NETS[net])]
    grads = [torch.randn(s, generator=gen, dtype=dtype) * 0.01 for s in shapes(NETS[net])]

    def ks_weights():
        ws = [Weight(v.clone(), f"w{i}") for i, v in enumerate(values)]
        for w, g in zip(ws, grads):
            w.grad.copy_(g)
        return ws

    flat, twin = make_ks(), make_ks()
    flat.build(ks_weights())
    twin.build(ks_weights())
    params = [torch.nn.Parameter(v.clone()) for v in values]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    torch_opt = make_torch(params)
    return {"flat": flat.step, "twin": twin.step_per_weight, "torch": torch_opt.step}


def time_steps(step, n, clock):
    t0 = clock()
    for _ in range(n):
        step()
    return (clock() - t0) / n * 1e6


def run(net, label, make_ks, make_torch, rounds, steps, dtype, clock):
    contenders = make_contenders(net, make_ks, make_torch, dtype)
    for step in contenders.values():  # warm up: first-step state creation, caches
        time_steps(step, max(3, steps // 10), clock)
    times = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, step in contenders.items():
            times[name].append(time_steps(step, steps, clock))
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=300, help="steps per round on the small net; "
                    "the large net uses a tenth")
    ap.add_argument("--threads", default="1,0", help="comma list; 0 = torch's default")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--only", default="", help="comma list of optimizer labels to run")
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"])
    args = ap.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    dtype = getattr(torch, args.dtype)
    default_threads = torch.get_num_threads()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    print(f"torch {torch.__version__}, {args.dtype}, {args.clock} clock, {args.rounds} rounds, "
          f"median µs/step "
          f"(ratio = time / torch.optim foreach time; < 1 is faster)")
    header = (f"{'threads':>7} {'net':>15} {'optimizer':>10} {'flat':>9} {'twin':>9} "
              f"{'torch':>9} {'flat/torch':>10} {'twin/torch':>10}")
    print(header)
    print("-" * len(header))
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads or default_threads)
        for net in NETS:
            steps = args.steps if net == "2-25-25-25-2" else max(10, args.steps // 10)
            for label, make_ks, make_torch in OPTIMIZERS:
                if only and label not in only:
                    continue
                med = run(net, label, make_ks, make_torch, args.rounds, steps, dtype, clock)
                print(f"{torch.get_num_threads():>7} {net:>15} {label:>10} {med['flat']:>9.1f} "
                      f"{med['twin']:>9.1f} {med['torch']:>9.1f} "
                      f"{med['flat'] / med['torch']:>10.2f} {med['twin'] / med['torch']:>10.2f}",
                      flush=True)
    torch.set_num_threads(default_threads)


if __name__ == "__main__":
    main()
