"""The seeds' task in kerasette and in its peers: time and test error, one table.

    python benchmarks/bench_peers.py               # 3 rounds per contender, 1 thread
    python benchmarks/bench_peers.py --rounds 1 --threads 2

The task as DESIGN.md §3 states it: 1000 training points (test: 1000 more), MLP 2-25-25-25-2 with
ReLU hidden layers and a linear output, one-hot targets, MSE, plain SGD lr 0.1, batch 10, 50
epochs (5000 steps), shuffled every epoch, no validation, no progress output. Every contender
starts from the same Glorot-uniform weights (`common.init_params`) and is timed on its whole
training call; a point's class is the argmax of the two outputs.

Contenders, each skipped with a note when its package is missing (`pip install
"kerasette[bench]"`, keeping your torch: pip's `-c` with a torch pin):
- the lean hand-written loop and the torch.nn + autograd + torch.optim loop (benchmarks/common.py);
- kerasette's `fit`;
- Keras 3 on its torch backend (KERAS_BACKEND=torch is set before keras is imported);
- Poutyne, skorch and Lightning, each training a torch.nn copy of the same net.

Contenders run in turn within each round (so a change in machine load hits all alike); the table
gives each one's median and fastest time over the rounds, and its test error after the last round.
"""

import argparse
import math
import os
import statistics
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import (  # noqa: E402
    disk_data,
    init_params,
    kerasette_fit,
    lean_loop,
    mlp_shapes,
    torch_nn_loop,
)

SIZES = [2, 25, 25, 25, 2]
TASK = dict(sizes=SIZES, epochs=50, batch_size=10, lr=0.1, seed=0)


def torch_net(sizes=SIZES, seed=0) -> torch.nn.Sequential:
    """The task's net in torch.nn, starting from `init_params(sizes, seed)`."""
    params = init_params(sizes, seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(mlp_shapes(sizes)):
        linear = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(params[2 * i].T)  # init_params keeps Keras's (in, out) layout
            linear.bias.copy_(params[2 * i + 1])
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def flat_forward(flat, x, sizes=SIZES):
    """The lean loop's net from its flat parameter vector (kernels (in, out), then biases)."""
    h, offset = x, 0
    shapes = mlp_shapes(sizes)
    for i, (fan_in, fan_out) in enumerate(shapes):
        w = flat[offset:offset + fan_in * fan_out].view(fan_in, fan_out)
        offset += fan_in * fan_out
        b = flat[offset:offset + fan_out]
        offset += fan_out
        h = torch.addmm(b, h, w)
        if i < len(shapes) - 1:
            h = torch.relu(h)
    return h


# ----- contenders: each trains on (x, y) and returns a predict function x -> outputs -----------
def run_lean(x, y):
    flat = lean_loop(x, y, **TASK)
    return lambda xs: flat_forward(flat, xs)


def run_torch_loop(x, y):
    net = torch_nn_loop(x, y, **TASK)
    return lambda xs: net(xs)


def run_kerasette(x, y):
    model = kerasette_fit(x, y, **TASK)
    return lambda xs: model.predict(xs, batch_size=1000, verbose=0)


def make_keras():
    os.environ["KERAS_BACKEND"] = "torch"  # must precede the first `import keras`
    import keras

    if keras.backend.backend() != "torch":
        raise ImportError(f"keras was already imported with the {keras.backend.backend()} backend")

    def run(x, y):
        keras.utils.set_random_seed(TASK["seed"])
        model = keras.Sequential([keras.Input((SIZES[0],))]
                                 + [keras.layers.Dense(u, activation="relu") for u in SIZES[1:-1]]
                                 + [keras.layers.Dense(SIZES[-1])])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=TASK["lr"]), loss="mse")
        model.set_weights([p.numpy() for p in init_params(SIZES, TASK["seed"])])
        model.fit(x.numpy(), y.numpy(), epochs=TASK["epochs"], batch_size=TASK["batch_size"],
                  shuffle=True, verbose=0)
        return lambda xs: torch.as_tensor(model.predict(xs.numpy(), batch_size=1000, verbose=0))

    return f"Keras {keras.__version__} (torch backend)", run


def make_poutyne():
    import poutyne

    def run(x, y):
        net = torch_net()
        model = poutyne.Model(net, torch.optim.SGD(net.parameters(), lr=TASK["lr"]),
                              torch.nn.MSELoss())
        model.fit(x, y, epochs=TASK["epochs"], batch_size=TASK["batch_size"], verbose=False)
        return lambda xs: net(xs)

    return f"Poutyne {poutyne.__version__}", run


def make_skorch():
    import skorch

    def run(x, y):
        net = skorch.NeuralNetRegressor(
            torch_net(), criterion=torch.nn.MSELoss, optimizer=torch.optim.SGD, lr=TASK["lr"],
            max_epochs=TASK["epochs"], batch_size=TASK["batch_size"], train_split=None,
            iterator_train__shuffle=True, verbose=0, device="cpu")
        net.fit(x, y)
        return lambda xs: net.module_(xs)

    return f"skorch {skorch.__version__}", run


def make_lightning():
    import lightning
    import lightning.pytorch as pl

    class Regressor(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch_net()
            self.loss_fn = torch.nn.MSELoss()

        def forward(self, xs):
            return self.net(xs)

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            return self.loss_fn(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=TASK["lr"])

    def run(x, y):
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x, y), batch_size=TASK["batch_size"], shuffle=True,
            generator=torch.Generator().manual_seed(TASK["seed"]))
        module = Regressor()
        trainer = pl.Trainer(max_epochs=TASK["epochs"], accelerator="cpu", devices=1,
                             logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False)
        trainer.fit(module, loader)
        return lambda xs: module(xs)

    quiet_lightning()
    return f"Lightning {lightning.__version__}", run


OPTIONAL = {"keras": make_keras, "poutyne": make_poutyne, "skorch": make_skorch,
            "lightning": make_lightning}


def quiet_lightning():
    """Lightning logs a few lines per Trainer (device summary, tips) even with the bars off."""
    import logging

    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("lightning", "pytorch_lightning")):
            logging.getLogger(name).setLevel(logging.ERROR)


def test_error(predict, x_test, y_test) -> float:
    with torch.no_grad():
        out = torch.as_tensor(predict(x_test))
    return float((out.argmax(1) != y_test.argmax(1)).float().mean())


def contenders(only=None) -> tuple[dict, list]:
    """{label: train function} in table order, and notes on the contenders that were skipped."""
    table = {"lean manual loop (reference)": run_lean,
             "torch.nn + autograd loop": run_torch_loop,
             "kerasette fit": run_kerasette}
    notes = []
    for key, make in OPTIONAL.items():
        if only and key not in only:
            continue
        try:
            label, run = make()
        except ImportError as err:
            notes.append(f"{key}: skipped ({err})")
            continue
        table[label] = run
    return table, notes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for every contender (default 1)")
    parser.add_argument("--only", nargs="*", choices=sorted(OPTIONAL),
                        help="optional peers to include (default: every one installed)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")  # peers' deprecation and "few workers" notes, every round

    x, y = disk_data(1000, seed=0)
    x_test, y_test = disk_data(1000, seed=1)
    table, notes = contenders(args.only)
    times = {name: [] for name in table}
    errors = {}
    for _ in range(args.rounds):
        for name, run in table.items():
            start = time.perf_counter()
            predict = run(x, y)
            times[name].append(time.perf_counter() - start)
            errors[name] = test_error(predict, x_test, y_test)
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    base = statistics.median(times["kerasette fit"])
    print(f"Seeds' task: 2-25-25-25-2 ReLU, MSE, SGD lr 0.1, batch 10, 50 epochs (5000 steps); "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.rounds} "
          f"round(s), load average {os.getloadavg()[0]:.1f} at the end")
    print("| contender | median time (s) | fastest (s) | vs kerasette fit | test error |")
    print("|---|---|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        err = errors[name]
        print(f"| {name} | {med:.2f} | {min(ts):.2f} | {med / base:.2f}x | "
              f"{'n/a' if math.isnan(err) else f'{100 * err:.1f}%'} |")
    for note in notes:
        print(note)
    return times, errors


if __name__ == "__main__":
    main()
