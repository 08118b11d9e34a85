"""Data-parallel step time: the compute-bound net on 1 process vs N processes (one thread each).

    python benchmarks/bench_distributed.py                  # model.fit on 1 vs 2 processes, gloo
    python benchmarks/bench_distributed.py --mode step      # the hand-written step: reduce's share
    python benchmarks/bench_distributed.py --quick
    python benchmarks/bench_distributed.py --world 4 --backend nccl   # on a machine with 4 GPUs

Net and data as in bench_fit.py's compute-bound case: 784-512-512-512 (ReLU, linear output), MSE,
SGD lr 0.01, GLOBAL batch 128, 4096 samples, float32. The step is hand-written on flat buffers
(`addmm`, as bench_fit.py's lean loop) and follows kerasette.distribution's trainer contract: every
rank draws the same permutation, takes `shard_bounds(128)` rows of each global batch, scales its loss
by the GLOBAL batch size, and ends the step with ONE `reduce_step([grads, loss_sum, count, nonfinite,
stop])` before the SGD update (`--mode step`). The default, `--mode fit`, times `model.fit` on the
same net, data and initial weights, under the same launch (fit runs data-parallel under torchrun's
variables); its step time is an epoch's time over its 32 steps (first epoch excluded).

Each run launches its processes afresh (MASTER_ADDR=127.0.0.1, a free port); runs of 1 and N
processes alternate over rounds. Per run, rank 0 reports the median step time, the median time inside
reduce_step (pack + all_reduce + unpack, and any wait for a slower rank), the median of a bare
all_reduce of the gradient buffer alone (back to back after each epoch: no wait), and the step's and
reduce_step's medians in CPU time of the process (`time.process_time`), which a busy shared machine
distorts far less than wall time. Both runs start from the same weights and see the same global
batches, so their final weights agree up to float32 summation order: the largest difference is
printed as a check.
"""

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's kerasette, also in the child processes

SIZES = [784, 512, 512, 512]
N, BATCH, LR = 4096, 128, 0.01


def init_flat(seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    parts = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        limit = math.sqrt(6 / (fan_in + fan_out))
        parts += [((torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * limit).reshape(-1),
                  torch.zeros(fan_out)]
    return torch.cat(parts).to(dtype)


def views(flat):
    out, off = [], 0
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        out.append(flat[off:off + fan_in * fan_out].view(fan_in, fan_out))
        off += fan_in * fan_out
        out.append(flat[off:off + fan_out])
        off += fan_out
    return out[0::2], out[1::2]


def fit_child(args):
    """One rank of `model.fit` on the same net, data, weights and SGD: time per step from the
    epochs' wall and CPU times (a callback), every epoch after the first; rank 0 prints JSON."""
    import kerasette as ks

    torch.set_num_threads(1)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    ks.config.set_floatx(args.dtype)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(N, SIZES[0], generator=g), torch.randn(N, SIZES[-1], generator=g)
    x, y = x.to(dtype), y.to(dtype)
    layers = [ks.Input((SIZES[0],))] + [ks.layers.Dense(u, activation="relu") for u in SIZES[1:-1]]
    model = ks.Sequential(layers + [ks.layers.Dense(SIZES[-1])])
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=LR), loss="mse")
    Ws, bs = views(init_flat(dtype=dtype))
    model.set_weights([t.numpy() for pair in zip(Ws, bs) for t in pair])
    wall, cpu = [], []

    class Timer(ks.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            wall.append(time.perf_counter() - self.t0)
            cpu.append(time.process_time() - self.c0)

    if args.backend == "nccl":
        model.to(ks.distribution.DataParallel().device)  # cuda:LOCAL_RANK
    model.fit(x, y, batch_size=BATCH, epochs=args.epochs, verbose=0, callbacks=[Timer()])
    steps = -(-N // BATCH)
    dist = ks.distribution.distribution()
    if dist is None or dist.rank == 0:
        flat = torch.cat([torch.as_tensor(w).reshape(-1) for w in model.get_weights()])
        print(json.dumps({
            "world": dist.world_size if dist else 1,
            "step_ms": 1e3 * statistics.median(wall[1:] or wall) / steps,
            "step_cpu_ms": 1e3 * statistics.median(cpu[1:] or cpu) / steps,
            "reduce_ms": 0.0, "reduce_cpu_ms": 0.0, "bare_allreduce_ms": 0.0,
            "final_loss": float(model.evaluate(x, y, verbose=0)),
            "weights": flat.double().tolist()[:2000], "checksum": float(flat.double().sum()),
        }))


def child(args):
    """One rank: train `--epochs` epochs, time every step; rank 0 prints a JSON line."""
    import kerasette as ks

    torch.set_num_threads(1)
    dp = ks.distribution.DataParallel(timeout=120)
    device = dp.device if args.backend == "nccl" else torch.device("cpu")
    s = dp.connect(device)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(N, SIZES[0], generator=g), torch.randn(N, SIZES[-1], generator=g)
    x, y = x.to(device, dtype), y.to(device, dtype)
    flat = init_flat(dtype=dtype).to(device)
    grad = torch.zeros_like(flat)
    Ws, bs = views(flat)
    dWs, dbs = views(grad)
    loss_sum = torch.zeros((), dtype=dtype, device=device)
    count = torch.zeros((), dtype=dtype, device=device)
    nonfinite = torch.zeros((), dtype=dtype, device=device)
    stop = torch.zeros((), dtype=dtype, device=device)
    step_tensors = [grad, loss_sum, count, nonfinite, stop]
    s.broadcast_from_writer([flat])          # identical replicas (they are already: same seed)
    perm_gen = torch.Generator().manual_seed(1)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    step_times, reduce_times, bare_times, step_cpu, reduce_cpu = [], [], [], [], []
    epoch_loss = 0.0
    for _ in range(args.epochs):
        perm = torch.randperm(N, generator=perm_gen).to(device)
        xs, ys = x[perm], y[perm]
        epoch_loss = torch.zeros((), dtype=dtype, device=device)
        for start in range(0, N, BATCH):
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            n_global = min(BATCH, N - start)
            lo, hi = s.shard_bounds(n_global)
            xb, yb = xs[start + lo:start + hi], ys[start + lo:start + hi]
            grad.zero_()
            loss_sum.zero_(), count.fill_(hi - lo), nonfinite.zero_(), stop.zero_()
            if hi > lo:
                acts, h = [xb], xb
                for i in range(len(Ws)):
                    h = torch.addmm(bs[i], h, Ws[i])
                    if i < len(Ws) - 1:
                        h = torch.relu(h)
                    acts.append(h)
                diff = h - yb
                # per-sample loss l_i = mean_j diff_ij^2; this rank's part of the global batch loss
                # sum_i l_i / n_global, so the summed gradient is the global batch's gradient.
                loss_sum.copy_(diff.square().sum() / SIZES[-1])
                d = diff * (2.0 / (n_global * SIZES[-1]))
                for i in range(len(Ws) - 1, -1, -1):
                    dWs[i].addmm_(acts[i].T, d)
                    dbs[i].add_(d.sum(0))
                    if i > 0:
                        d = (d @ Ws[i].T) * (acts[i] > 0)
            sync()
            t1, c1 = time.perf_counter(), time.process_time()
            s.reduce_step(step_tensors)
            sync()
            t2, c2 = time.perf_counter(), time.process_time()
            flat.add_(grad, alpha=-LR)
            epoch_loss += loss_sum
            sync()
            step_times.append(time.perf_counter() - t0)
            reduce_times.append(t2 - t1)
            step_cpu.append(time.process_time() - c0)
            reduce_cpu.append(c2 - c1)
        if s.world_size > 1:  # a bare all_reduce of the gradients alone, for the packing overhead
            import torch.distributed as dist

            for _ in range(5):
                sync()
                t0 = time.perf_counter()
                dist.all_reduce(grad)
                sync()
                bare_times.append(time.perf_counter() - t0)
    if s.is_writer:
        warm = step_times[len(step_times) // 4:]
        print(json.dumps({
            "world": s.world_size, "step_ms": 1e3 * statistics.median(warm),
            "reduce_ms": 1e3 * statistics.median(reduce_times[len(reduce_times) // 4:]),
            "bare_allreduce_ms": 1e3 * statistics.median(bare_times) if bare_times else 0.0,
            "step_cpu_ms": 1e3 * statistics.median(step_cpu[len(step_cpu) // 4:]),
            "reduce_cpu_ms": 1e3 * statistics.median(reduce_cpu[len(reduce_cpu) // 4:]),
            "final_loss": float(epoch_loss) / N, "weights": flat.cpu().double().tolist()[:2000],
            "checksum": float(flat.double().sum()),
        }))
    dp.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(world, args):
    port = free_port()
    procs = []
    for rank in range(world):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                   RANK=str(rank), LOCAL_RANK=str(rank), OMP_NUM_THREADS="1",
                   PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cmd = [sys.executable, __file__, "--child", "--epochs", str(args.epochs),
               "--backend", args.backend, "--dtype", args.dtype, "--mode", args.mode]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=900)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit(f"a {world}-process run failed: {[p.returncode for p in procs]}")
    return json.loads(outs[0].strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--world", type=int, default=2)
    parser.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--mode", choices=("fit", "step"), default="fit",
                        help="model.fit (default), or the hand-written step that shows the "
                             "all-reduce's share of the step")
    args = parser.parse_args()
    if args.child:
        (fit_child if args.mode == "fit" else child)(args)
        return
    rounds = 2 if args.quick else args.rounds
    print(f"{'model.fit' if args.mode == 'fit' else 'hand-written step'}: "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs, backend {args.backend}, {args.dtype}; "
          f"784-512-512-512, global batch {BATCH}, {args.epochs} epochs of {N} per run, "
          f"{rounds} rounds, one thread per process")
    results = {1: [], args.world: []}
    for _ in range(rounds):
        for world in results:
            results[world].append(run(world, args))
    one, many = results[1], results[args.world]
    med = {w: statistics.median(r["step_ms"] for r in rs) for w, rs in results.items()}
    red = statistics.median(r["reduce_ms"] for r in many)
    bare = statistics.median(r["bare_allreduce_ms"] for r in many)
    speedup = statistics.median(a["step_ms"] / b["step_ms"] for a, b in zip(one, many))
    cpu = {w: statistics.median(r["step_cpu_ms"] for r in rs) for w, rs in results.items()}
    red_cpu = statistics.median(r["reduce_cpu_ms"] for r in many)
    if args.mode == "step":
        print(f"{'processes':<12}{'step (ms)':>12}{'reduce_step+wait (ms)':>23}{'share of step':>15}")
        print(f"{1:<12}{med[1]:>12.2f}{0.0:>23.2f}{0.0:>14.0%}")
        print(f"{args.world:<12}{med[args.world]:>12.2f}{red:>23.2f}{red / med[args.world]:>14.0%}")
        print(f"a bare all_reduce of the gradient buffer alone: {bare:.2f} ms")
    else:
        print(f"{'processes':<12}{'step (ms)':>12}")
        for w in results:
            print(f"{w:<12}{med[w]:>12.2f}")
    print(f"speed-up of one step (paired median): {speedup:.2f}x with {args.world} processes")
    print(f"CPU time per step and process (steadier than wall time on a busy machine): "
          f"{cpu[1]:.2f} ms on 1 process, {cpu[args.world]:.2f} ms on {args.world}"
          + (f" of which reduce_step {red_cpu:.2f} ms" if args.mode == "step" else "")
          + f"; speed-up from CPU work {cpu[1] / cpu[args.world]:.2f}x")
    diff = max(abs(a - b) for a, b in zip(one[0]["weights"], many[0]["weights"]))
    print(f"same training: final loss {one[0]['final_loss']:.6f} vs {many[0]['final_loss']:.6f}, "
          f"largest weight difference (first 2000) {diff:.2e}")


if __name__ == "__main__":
    main()
