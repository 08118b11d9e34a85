"""Seed 003's grid on the disk task: hidden activation x loss x optimizer, over several seeds.

The network is seed 003's 2-25-25-25-1 with one sigmoid output unit in every cell, so the only
thing that changes between the MSE and BCE columns is the loss (MSE on the sigmoid's probability
against the 0/1 label, or binary cross-entropy). A point is predicted inside the disk when the
output is above 0.5. The three optimizers:

    gradient step   w <- w - lr * g                      (seed 003's "None": no optimizer object)
    momentum        v <- 0.9 v - lr * g;  w <- w + v     (seed 003's "SGD", which kept a velocity)
    Adam            Keras's defaults except the learning rate

Every cell of one seed starts from the same data and the same initial weights. Inputs are
standardised with the training set's mean and std (--raw-inputs to turn that off).
Seed 003 trained with batch 5 for 300 epochs (150 with Adam); the defaults here are batch 16 for
100 epochs, so the 18 x 3 runs take about a minute and a half on 2 CPU cores.

    python examples/seed_grid.py                  # 3 seeds, prints the table (Markdown)
    python examples/seed_grid.py --seeds 10       # tighter means
"""

import sys
import time

import torch
from _common import (
    limit_threads,
    make_disk_data,
    mean_std,
    parse_seeded,
    pct,
    print_table,
    seeds_parser,
    standardise,
)

import kerasette as ks

ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "leaky_relu": "LeakyReLU"}
LOSSES = {"mse": "MSE", "binary_crossentropy": "BCE"}
OPTIMIZERS = ("gradient step", "momentum", "Adam")

# Seed 003's published (train %, test %), one run per cell: batch 5, 300 epochs (Adam 150).
SEED_003 = {
    ("tanh", "mse", "momentum"): (98.6, 94.0), ("tanh", "mse", "Adam"): (97.8, 93.1),
    ("tanh", "mse", "gradient step"): (98.5, 94.8),
    ("tanh", "binary_crossentropy", "momentum"): (98.1, 93.2),
    ("tanh", "binary_crossentropy", "Adam"): (95.9, 92.4),
    ("tanh", "binary_crossentropy", "gradient step"): (98.5, 94.7),
    ("relu", "mse", "momentum"): (97.8, 94.3), ("relu", "mse", "Adam"): (98.6, 94.2),
    ("relu", "mse", "gradient step"): (97.4, 94.1),
    ("relu", "binary_crossentropy", "momentum"): (97.2, 93.8),
    ("relu", "binary_crossentropy", "Adam"): (98.1, 94.0),
    ("relu", "binary_crossentropy", "gradient step"): (97.8, 93.1),
    ("leaky_relu", "mse", "momentum"): (98.5, 94.8), ("leaky_relu", "mse", "Adam"): (97.6, 94.7),
    ("leaky_relu", "mse", "gradient step"): (97.9, 93.8),
    ("leaky_relu", "binary_crossentropy", "momentum"): (97.7, 93.6),
    ("leaky_relu", "binary_crossentropy", "Adam"): (98.3, 94.3),
    ("leaky_relu", "binary_crossentropy", "gradient step"): (97.2, 92.5),
}


def make_optimizer(name: str, args):
    if name == "gradient step":
        return ks.optimizers.SGD(learning_rate=args.lr_sgd)
    if name == "momentum":
        return ks.optimizers.SGD(learning_rate=args.lr_momentum, momentum=args.momentum)
    return ks.optimizers.Adam(learning_rate=args.lr_adam)


def build_model(activation: str, loss: str, optimizer) -> ks.Sequential:
    model = ks.Sequential([
        ks.Input(shape=(2,)),
        ks.layers.Dense(25, activation=activation),
        ks.layers.Dense(25, activation=activation),
        ks.layers.Dense(25, activation=activation),
        ks.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


def disk_split(seed: int, n: int, raw: bool):
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = make_disk_data(n, gen)
    x_test, y_test = make_disk_data(n, gen)
    if not raw:
        x_train, x_test = standardise(x_train, x_test)
    return x_train, y_train, x_test, y_test


def run_cell(activation, loss, optimizer, seed, data, args):
    """Train one cell from `seed`; returns (train accuracy, test accuracy)."""
    x_train, y_train, x_test, y_test = data
    ks.utils.set_random_seed(seed)  # same initial weights and batch order in every cell
    model = build_model(activation, loss, make_optimizer(optimizer, args))
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    train_acc = model.evaluate(x_train, y_train, batch_size=1000, verbose=0)[1]
    test_acc = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)[1]
    return train_acc, test_acc


def parse_args(argv):
    parser = seeds_parser(__doc__, seeds=3, epochs=100, batch_size=16, seeds_help="seeds per cell",
                          threads_help="torch intra-op threads (default 1: the net is tiny)")
    parser.add_argument("--n", type=int, default=1000, help="training and test points each")
    parser.add_argument("--lr-sgd", type=float, default=0.5, help="plain gradient step")
    parser.add_argument("--lr-momentum", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--lr-adam", type=float, default=0.003)
    parser.add_argument("--raw-inputs", action="store_true", help="do not standardise inputs")
    return parse_seeded(parser, argv)


def main(argv=None):
    """Run the grid and print it; returns one dict per cell (means and stds as fractions)."""
    args = parse_args(argv)
    limit_threads(args.threads)
    seeds = range(args.seeds)
    data = {seed: disk_split(seed, args.n, args.raw_inputs) for seed in seeds}
    start = time.perf_counter()
    results, rows = [], []
    for activation, act_name in ACTIVATIONS.items():
        for loss, loss_name in LOSSES.items():
            for optimizer in OPTIMIZERS:
                runs = [run_cell(activation, loss, optimizer, s, data[s], args) for s in seeds]
                train = mean_std(r[0] for r in runs)
                test = mean_std(r[1] for r in runs)
                results.append({"activation": activation, "loss": loss, "optimizer": optimizer,
                                "train": train, "test": test})
                seed_train, seed_test = SEED_003[(activation, loss, optimizer)]
                rows.append([act_name, loss_name, optimizer, pct(*train), pct(*test),
                             f"{seed_train:.1f}%", f"{seed_test:.1f}%"])
                print(f"  {act_name} {loss_name} {optimizer}: test {pct(*test)}", file=sys.stderr)
    elapsed = time.perf_counter() - start

    print(f"Disk task, 2-25-25-25-1 (sigmoid), {args.n} train / {args.n} test points, batch "
          f"{args.batch_size}, {args.epochs} epochs, mean ± std over {args.seeds} seed(s); "
          f"lr: step {args.lr_sgd}, momentum {args.lr_momentum} (m={args.momentum}), "
          f"Adam {args.lr_adam}; inputs {'raw' if args.raw_inputs else 'standardised'}")
    print_table(["activation", "loss", "optimizer", "train acc", "test acc",
                 "seed 003 train", "seed 003 test"], rows)
    best = max(results, key=lambda r: r["test"][0])
    grid_mean = sum(r["test"][0] for r in results) / len(results)
    seed_mean = sum(test for _, test in SEED_003.values()) / len(SEED_003)
    print(f"best cell: {ACTIVATIONS[best['activation']]} + {LOSSES[best['loss']]} + "
          f"{best['optimizer']}, test {pct(*best['test'])} (seed 003's best: 94.8%); mean test "
          f"accuracy over the 18 cells {pct(grid_mean)} (seed 003: {seed_mean:.1f}%); "
          f"{elapsed:.0f} s")
    return results


if __name__ == "__main__":
    main()
