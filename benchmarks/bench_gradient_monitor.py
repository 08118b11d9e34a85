"""What GradientMonitor and TensorBoard cost inside `fit` (bench_fit.py's method: alternate, paired ratios).

    python benchmarks/bench_gradient_monitor.py           # 9 rounds
    python benchmarks/bench_gradient_monitor.py --quick   # 3 rounds

Seeds' task of bench_fit.py (2-25-25-25-2, batch 10, 50 epochs = 5000 steps) and the compute-bound
784-512-512-512 net (batch 128, 3 epochs), each run: plain `fit`; `fit` + GradientMonitor;
`fit` + TensorBoard (epoch scalars only); `fit` + TensorBoard(histogram_freq=1) (weight and gradient
histograms and gradient norms every epoch). Event files go to a temporary folder.
"""

import argparse
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import alternate, disk_data, kerasette_fit, paired_ratio, report  # noqa: E402


def contenders(run, tmp):
    import kerasette as ks

    cb = ks.callbacks
    return {
        "fit": lambda: kerasette_fit(**run),
        "fit + GradientMonitor": lambda: kerasette_fit(**run, callbacks=[cb.GradientMonitor()]),
        "fit + TensorBoard": lambda: kerasette_fit(**run, callbacks=[
            cb.TensorBoard(os.path.join(tmp, "a"), write_graph=False)]),
        "fit + TensorBoard(hist=1)": lambda: kerasette_fit(**run, callbacks=[
            cb.TensorBoard(os.path.join(tmp, "b"), histogram_freq=1, write_graph=False)]),
    }


def hook_costs(run):
    """Per-call costs, best of repeats (steadier than whole fits on a busy machine): the
    on_backward_end call on a batch GradientMonitor does not sample (every batch but one per
    epoch), and the sampled batch's work (norms, parameter copy, ratio at the next batch)."""
    import timeit

    import kerasette as ks
    from kerasette.callbacks import CallbackList
    from kerasette.models.logs import LazyLogs

    model = kerasette_fit(**{**run, "epochs": 1})
    monitor = ks.callbacks.GradientMonitor()
    cbs = CallbackList([monitor], model=model, epochs=1, steps=1, verbose=0)
    loss = torch.tensor(1.0)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_backward_end(0, LazyLogs({"loss": loss}))   # sample
    cbs.on_backward_end(1, LazyLogs({"loss": loss}))   # finish the ratio

    def idle():
        cbs.on_backward_end(2, LazyLogs({"loss": loss}))

    def sampled():
        cbs.on_epoch_begin(0)
        cbs.on_backward_end(0, LazyLogs({"loss": loss}))
        cbs.on_backward_end(1, LazyLogs({"loss": loss}))
        cbs.on_epoch_end(0, {})

    n = 20000
    per_batch = min(timeit.repeat(idle, number=n, repeat=5)) / n
    per_epoch = min(timeit.repeat(sampled, number=50, repeat=5)) / 50
    return per_batch, per_epoch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds = 3 if args.quick else 9
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {rounds} rounds")
    x, y = disk_data(1000, seed=0)
    g = torch.Generator().manual_seed(0)
    xb, yb = torch.randn(4096, 784, generator=g), torch.randn(4096, 512, generator=g)
    tasks = [("Seeds' task 2-25-25-25-2, batch 10, 50 epochs (5000 steps)",
              dict(x=x, y=y, sizes=[2, 25, 25, 25, 2], epochs=50, batch_size=10, lr=0.1)),
             ("Compute-bound 784-512-512-512, batch 128, 3 epochs",
              dict(x=xb, y=yb, sizes=[784, 512, 512, 512], epochs=3, batch_size=128, lr=0.01))]
    with tempfile.TemporaryDirectory() as tmp:
        for title, run in tasks:
            print("\n" + title)
            times = alternate(contenders(run, tmp), rounds)
            report(times, "fit")
            per_batch, per_epoch = hook_costs(run)
            steps = -(-len(run["x"]) // run["batch_size"])
            step_time = min(times["fit"]) / (run["epochs"] * steps)
            print(f"  GradientMonitor per call (best of 5): {1e6 * per_batch:.2f} us on a batch it "
                  f"does not sample, {1e6 * per_epoch:.0f} us per epoch for the sampled batch; "
                  f"fit's fastest step here {1e6 * step_time:.0f} us -> "
                  f"{100 * (per_batch * (steps - 1) + per_epoch) / (step_time * steps):.2f}% of an epoch")
            for name in times:
                if name != "fit":
                    print(f"  {name}: {100 * (paired_ratio(times, name, 'fit') - 1):+.1f}% vs fit")


if __name__ == "__main__":
    main()
