"""Seed 004's comparison: one net, one data set, trained by kerasette's `fit` and by a torch.nn loop.

Seed 004's setting, kept exactly: 2-25-25-25-2 with ReLU hidden layers and a Tanh output; targets
+-1 on both outputs as seed 004 encoded them (label 1 -> (1, 1), label 0 -> (-1, -1)); a point is
predicted inside the disk when the mean of the two outputs is positive. MSE (the mean over all
N x 2 entries, in both libraries), plain SGD with lr 0.1, batch 10, 50 epochs, PyTorch's default
initialisation U(+-1/sqrt(fan_in)) for weights and biases.

Round r draws new data (1000 train, 1000 test points) and new weights from seed r; the torch net
starts from a copy of the kerasette model's initial weights, so the two differ only in the order
of their batches and in float rounding. Each time is the whole 50-epoch training (5000 steps),
both loops summing their loss per epoch. The two contenders alternate within a round.

    python examples/versus_pytorch.py              # 10 rounds, one Markdown table
    python examples/versus_pytorch.py --rounds 3
"""

import argparse
import time

import torch
from _common import limit_threads, make_disk_data, mean_std, pct, print_table

import kerasette as ks

SIZES = (2, 25, 25, 25, 2)


def pm_one_targets(y01: torch.Tensor) -> torch.Tensor:
    """Seed 004's encoding: label 1 -> (1, 1), label 0 -> (-1, -1); shape (n, 1) -> (n, 2)."""
    return (2 * y01 - 1).expand(-1, 2).contiguous()


def error_rate(outputs, y01) -> float:
    """Fraction of points whose predicted class (mean output > 0) differs from the 0/1 label."""
    outputs = torch.as_tensor(outputs)
    predicted = (outputs.mean(1) > 0).float()
    return float((predicted != y01[:, 0]).float().mean())


def build_kerasette(lr: float) -> ks.Sequential:
    layers = [ks.Input(shape=(SIZES[0],))]
    for i, units in enumerate(SIZES[1:]):
        last = i == len(SIZES) - 2
        layers.append(ks.layers.Dense(
            units, activation="tanh" if last else "relu", kernel_initializer="torch_default",
            bias_initializer=ks.initializers.TorchDefault(fan_in=SIZES[i])))
    model = ks.Sequential(layers)
    model.compile(optimizer=ks.optimizers.SGD(learning_rate=lr), loss="mse")
    return model


def build_torch_like(model: ks.Sequential) -> torch.nn.Sequential:
    """The same architecture in torch.nn, starting from `model`'s current weights."""
    weights = model.get_weights()  # [kernel (in, out), bias, ...] per Dense, Keras's layout
    modules = []
    for i in range(len(SIZES) - 1):
        linear = torch.nn.Linear(SIZES[i], SIZES[i + 1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights[2 * i]).T)  # torch keeps (out, in)
            linear.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
        modules += [linear, torch.nn.Tanh() if i == len(SIZES) - 2 else torch.nn.ReLU()]
    return torch.nn.Sequential(*modules)


def train_torch(net, x, y, epochs: int, batch_size: int, lr: float, seed: int) -> None:
    """The usual loop: autograd for the gradients, torch.optim.SGD for the step."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss()
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        epoch_loss = torch.zeros(())
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(net(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            epoch_loss += loss.detach() * len(batch)
        float(epoch_loss)  # an epoch report reads the loss once, as fit does


def one_round(seed: int, args) -> dict:
    """Both contenders on round `seed`'s data: {name: (train error, test error, seconds)}."""
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = make_disk_data(args.n, gen)
    x_test, y_test = make_disk_data(args.n, gen)
    t_train = pm_one_targets(y_train)

    ks.utils.set_random_seed(seed)
    model = build_kerasette(args.lr)
    net = build_torch_like(model)

    def run_kerasette():
        start = time.perf_counter()
        model.fit(x_train, t_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
        seconds = time.perf_counter() - start
        return (error_rate(model.predict(x_train, verbose=0), y_train),
                error_rate(model.predict(x_test, verbose=0), y_test), seconds)

    def run_torch():
        start = time.perf_counter()
        train_torch(net, x_train, t_train, args.epochs, args.batch_size, args.lr, seed)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            return (error_rate(net(x_train), y_train), error_rate(net(x_test), y_test), seconds)

    contenders = [("kerasette", run_kerasette), ("PyTorch", run_torch)]
    if seed % 2:  # alternate who goes first, so drifts in machine load hit both alike
        contenders.reverse()
    return {name: fn() for name, fn in contenders}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--n", type=int, default=1000, help="training and test points each")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for both contenders (default 1)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, received {args.rounds}")
    return args


def main(argv=None):
    """Run the rounds and print the table; returns {name: [(train err, test err, s), ...]}."""
    args = parse_args(argv)
    limit_threads(args.threads)
    # Warm-up, untimed: the first calls of a process pay for lazy initialisation in torch.
    one_round(args.rounds, argparse.Namespace(**{**vars(args), "epochs": 1, "n": 100}))
    runs = {"kerasette": [], "PyTorch": []}
    for seed in range(args.rounds):
        for name, result in one_round(seed, args).items():
            runs[name].append(result)

    labels = {"kerasette": "kerasette fit (hand-written backward)",
              "PyTorch": "PyTorch (torch.nn + autograd + torch.optim)"}
    rows = []
    for name, results in runs.items():
        train, test, secs = (mean_std(r[i] for r in results) for i in range(3))
        rows.append([labels[name], pct(*train, digits=2), pct(*test, digits=2),
                     f"{secs[0]:.2f} ± {secs[1]:.2f}"])
    rows.append(["seed 004, their framework (published)", "8.03%", "8.73%", "5.50"])
    rows.append(["seed 004, PyTorch (published)", "7.47%", "8.81%", "5.37"])
    print(f"Disk task, 2-25-25-25-2 ReLU/Tanh, targets ±1, MSE, SGD lr {args.lr}, batch "
          f"{args.batch_size}, {args.epochs} epochs; mean ± std over {args.rounds} round(s), "
          f"{torch.get_num_threads()} thread(s)")
    print_table(["framework", "train error", "test error", "time (s)"], rows)
    return runs


if __name__ == "__main__":
    main()
